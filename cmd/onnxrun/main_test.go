package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tlserve/tlserve/internal/npy"
	"github.com/tlserve/tlserve/internal/onnxpb"
	"github.com/tlserve/tlserve/internal/refdata"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return o.String(), e.String(), code
}

func TestImageTop5(t *testing.T) {
	model := refdata.SqueezeNet(t)
	for _, tc := range []struct{ file, top1 string }{
		{"dog.jpg", "golden retriever"},
		{"hummingbird.jpg", "hummingbird"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			out, errs, code := runCLI(t, "-model", model, "-image", refdata.ImagePath(t, tc.file))
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 5 {
				t.Fatalf("got %d lines, want 5:\n%s", len(lines), out)
			}
			if !strings.HasSuffix(lines[0], "  "+tc.top1) {
				t.Errorf("top-1 line %q, want label %q", lines[0], tc.top1)
			}
		})
	}
}

func TestBenchLine(t *testing.T) {
	model := refdata.SqueezeNet(t)
	out, errs, code := runCLI(t, "-model", model, "-bench", "2", "-batch", "2", "-threads", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	re := regexp.MustCompile(`^ms_per_image=[0-9]+\.[0-9] images_per_second=[0-9]+\.[0-9] peak_rss_mb=[0-9]+$`)
	if !re.MatchString(last) {
		t.Errorf("last line %q does not match %v", last, re)
	}
	if len(lines) < 2 || !regexp.MustCompile(`^load_ms=[0-9]+\.[0-9]$`).MatchString(lines[len(lines)-2]) {
		t.Errorf("the line before the last is not load_ms=N.N: %q", lines)
	}
}

// TestInputsToNPY runs a node-suite case from .pb inputs and checks the
// written output against the case's expected output.
func TestInputsToNPY(t *testing.T) {
	caseDir := refdata.NodeCase(t, "test_relu")
	out := t.TempDir()
	_, errs, code := runCLI(t, "-model", filepath.Join(caseDir, "model.onnx"),
		"-input", "x="+filepath.Join(caseDir, "test_data_set_0", "input_0.pb"), "-out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(filepath.Join(caseDir, "test_data_set_0", "output_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := onnxpb.DecodeTensor(b)
	if err != nil {
		t.Fatal(err)
	}
	wf, err := want.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(out, "y.npy"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := npy.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.F32) != len(wf) {
		t.Fatalf("got %d values, want %d", len(got.F32), len(wf))
	}
	for i := range wf {
		if got.F32[i] != wf[i] {
			t.Fatalf("y[%d] = %v, want %v", i, got.F32[i], wf[i])
		}
	}
}

func TestInputsWriteEmbedding(t *testing.T) {
	model := refdata.SqueezeNet(t)
	in := filepath.Join(t.TempDir(), "x.npy")
	var buf bytes.Buffer
	x := make([]float32, 3*224*224)
	for i := range x {
		x[i] = float32(i%255) / 2
	}
	if err := npy.WriteFloat32(&buf, []int{1, 3, 224, 224}, x); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	_, errs, code := runCLI(t, "-model", model, "-input", "data_0="+in, "-out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for name, size := range map[string]int{"softmaxout_1.npy": 1000, "embedding.npy": 512} {
		f, err := os.Open(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		a, err := npy.Read(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(a.F32) != size {
			t.Errorf("%s has %d values, want %d", name, len(a.F32), size)
		}
	}
}

func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no model", []string{"-bench", "1"}, "-model is required"},
		{"no mode", []string{"-model", "m.onnx"}, "give one of"},
		{"two modes", []string{"-model", "m.onnx", "-bench", "1", "-info"}, "exclusive"},
		{"input without out", []string{"-model", "m.onnx", "-input", "x=a.npy"}, "-out"},
		{"bad batch", []string{"-model", "m.onnx", "-bench", "1", "-batch", "0"}, "-batch"},
		{"missing file", []string{"-model", "/nonexistent.onnx", "-info"}, "nonexistent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs, code := runCLI(t, tc.args...)
			if code == 0 {
				t.Fatal("exit 0, want an error")
			}
			if !strings.Contains(errs, tc.want) {
				t.Errorf("stderr %q does not mention %q", errs, tc.want)
			}
		})
	}
}
