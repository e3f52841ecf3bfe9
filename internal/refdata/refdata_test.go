package refdata

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// skipRecorder is a testing.TB whose Skip methods record the message and
// end the calling goroutine, so a test can check that a helper skips.
type skipRecorder struct {
	testing.TB
	msg string
}

func (r *skipRecorder) Skipf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *skipRecorder) Skip(args ...any) {
	r.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

// skips runs f on a recorder in its own goroutine and returns the skip
// message, or "" when f returned normally.
func skips(t *testing.T, f func(tb testing.TB)) string {
	t.Helper()
	r := &skipRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.msg
}

func TestModuleRoot(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("module github.com/tlserve/tlserve\n")) {
		t.Errorf("%s/go.mod is not tlserve's", root)
	}
	if filepath.Join(root, "internal", "refdata") != mustGetwd(t) {
		t.Errorf("root %s is not two levels above the package", root)
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

func TestOutsideModuleSkips(t *testing.T) {
	t.Chdir(t.TempDir())
	if _, err := ModuleRoot(); !errors.Is(err, ErrNoModule) {
		t.Fatalf("ModuleRoot outside a module: %v, want ErrNoModule", err)
	}
	if _, err := Shared(); err == nil {
		t.Fatal("Shared outside a module: no error")
	}
	for name, f := range map[string]func(testing.TB){
		"Dir":        func(tb testing.TB) { Dir(tb) },
		"Image":      func(tb testing.TB) { Image(tb, "dog.jpg") },
		"SqueezeNet": func(tb testing.TB) { SqueezeNet(tb) },
	} {
		t.Run(name, func(t *testing.T) {
			msg := skips(t, f)
			if !strings.Contains(msg, "../shared") {
				t.Errorf("skip message %q does not say where the data should be", msg)
			}
		})
	}
}

func TestMissingFilesSkip(t *testing.T) {
	Dir(t)
	tests := map[string]struct {
		f    func(testing.TB)
		want string
	}{
		"image":      {func(tb testing.TB) { Image(tb, "no-such-image.png") }, "no-such-image.png"},
		"node case":  {func(tb testing.TB) { NodeCase(tb, "test_no_such_op") }, "libonnx-testdata"},
		"node files": {func(tb testing.TB) { NodeFiles(tb, "test_no_such_op*/model.onnx") }, "libonnx-testdata"},
		"fashion":    {func(tb testing.TB) { FashionMNIST(tb, "no-such-file.gz") }, "dataset-fashion-mnist"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if msg := skips(t, tt.f); !strings.Contains(msg, tt.want) {
				t.Errorf("skip message %q does not mention %q", msg, tt.want)
			}
		})
	}
}

func TestImage(t *testing.T) {
	tests := map[string][]byte{
		"dog.jpg":  {0xff, 0xd8, 0xff},
		"fish.png": []byte("\x89PNG\r\n\x1a\n"),
	}
	for name, magic := range tests {
		t.Run(name, func(t *testing.T) {
			if b := Image(t, name); !bytes.HasPrefix(b, magic) {
				t.Errorf("%s starts % x, want % x", name, b[:min(len(b), 8)], magic)
			}
		})
	}
}

func TestSqueezeNet(t *testing.T) {
	model := SqueezeNet(t)
	dir := filepath.Dir(model)
	if filepath.Base(model) != SqueezeNetName {
		t.Errorf("model file %s, want %s", model, SqueezeNetName)
	}
	want, err := os.ReadFile(SqueezeNetFile(t))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("the copied model differs from the shared one")
	}
	for _, name := range []string{"squeezenet1.1-fp16.json", "imagenet_classes.txt"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s is not beside the model: %v", name, err)
		}
	}
	if other := SqueezeNet(t); filepath.Dir(other) == dir {
		t.Error("two calls share a directory")
	}
}

func TestNodeCase(t *testing.T) {
	dir := NodeCase(t, "test_relu")
	for _, f := range []string{"model.onnx", "test_data_set_0/input_0.pb", "test_data_set_0/output_0.pb"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if files := NodeFiles(t, "test_relu/model.onnx"); len(files) != 1 || files[0] != filepath.Join(dir, "model.onnx") {
		t.Errorf("NodeFiles = %q", files)
	}
}

func TestFashionMNIST(t *testing.T) {
	p := FashionMNIST(t, "t10k-labels-idx1-ubyte.gz")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		t.Errorf("%s is not gzip", p)
	}
}
