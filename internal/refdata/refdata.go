package refdata

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Fixed locations of the Debian packages' data.
const (
	// NodeSuiteDir holds the ONNX backend node tests (test_*/model.onnx and
	// test_data_set_0/{input,output}_*.pb) of libonnx-testdata.
	NodeSuiteDir = "/usr/share/libonnx-testdata/data/node"
	// FashionMNISTDir holds the idx files (*-idx?-ubyte.gz) of
	// dataset-fashion-mnist.
	FashionMNISTDir = "/usr/share/datasets/fashion-mnist"
)

// SqueezeNetName is the file name of the shared SqueezeNet 1.1 model; its
// manifest is models/squeezenet1.1-fp16.json in the repository.
const SqueezeNetName = "squeezenet1.1-fp16.onnx"

// ErrNoModule is returned when no go.mod is found above the working
// directory.
var ErrNoModule = errors.New("refdata: no go.mod above the working directory")

// ModuleRoot returns the directory holding go.mod, found by walking up from
// the working directory. It returns ErrNoModule when there is none.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoModule
		}
		dir = parent
	}
}

// Shared returns the shared reference directory, ../shared beside the
// module root, or an error when it (or the module root) is absent.
func Shared() (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	shared := filepath.Join(root, "..", "shared")
	if _, err := os.Stat(shared); err != nil {
		return "", fmt.Errorf("refdata: shared reference directory: %w", err)
	}
	return shared, nil
}

// Root returns the module root, or fails the test when there is none: the
// tests of this module always run inside it.
func Root(tb testing.TB) string {
	tb.Helper()
	root, err := ModuleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

// Dir returns the shared reference directory, or skips the test when it is
// absent.
func Dir(tb testing.TB) string {
	tb.Helper()
	shared, err := Shared()
	if err != nil {
		tb.Skipf("reference data not available (%v); it lives in ../shared beside the repository", err)
	}
	return shared
}

// File returns the path of elem joined under the shared directory, or skips
// the test when that file is absent.
func File(tb testing.TB, elem ...string) string {
	tb.Helper()
	p := filepath.Join(append([]string{Dir(tb)}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("reference file not available: %v", err)
	}
	return p
}

// ImagePath returns the path of the shared sample image name (dog.jpg,
// cat.jpg, hummingbird.jpg, kitten_224.png, fish.png), or skips.
func ImagePath(tb testing.TB, name string) string {
	tb.Helper()
	return File(tb, "data", "images", name)
}

// Image returns the bytes of the shared sample image name, or skips when
// it is absent.
func Image(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(ImagePath(tb, name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// SqueezeNetFile returns the path of the shared SqueezeNet model file
// itself, or skips when it is absent. Use SqueezeNet to load it with its
// manifest and labels.
func SqueezeNetFile(tb testing.TB) string {
	tb.Helper()
	return File(tb, "models", SqueezeNetName)
}

// SqueezeNet copies the shared SqueezeNet model into a new temporary
// directory beside its manifest and labels from the repository's models
// directory, the layout manifest.ForModel expects, and returns the model's
// path. It skips when the model is absent.
func SqueezeNet(tb testing.TB) string {
	tb.Helper()
	model := SqueezeNetFile(tb)
	models := filepath.Join(Root(tb), "models")
	dir := tb.TempDir()
	for dst, src := range map[string]string{
		SqueezeNetName:            model,
		"squeezenet1.1-fp16.json": filepath.Join(models, "squeezenet1.1-fp16.json"),
		"imagenet_classes.txt":    filepath.Join(models, "imagenet_classes.txt"),
	} {
		b, err := os.ReadFile(src)
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return filepath.Join(dir, SqueezeNetName)
}

// NodeSuite returns NodeSuiteDir, or skips when libonnx-testdata is not
// installed.
func NodeSuite(tb testing.TB) string {
	tb.Helper()
	if _, err := os.Stat(NodeSuiteDir); err != nil {
		tb.Skipf("ONNX node tests not available (install the Debian package libonnx-testdata): %v", err)
	}
	return NodeSuiteDir
}

// NodeCase returns the directory of the node test name (for example
// "test_relu"), or skips when it is absent.
func NodeCase(tb testing.TB, name string) string {
	tb.Helper()
	dir := filepath.Join(NodeSuite(tb), name)
	if _, err := os.Stat(dir); err != nil {
		tb.Skipf("ONNX node test %s not available (install the Debian package libonnx-testdata): %v", name, err)
	}
	return dir
}

// NodeFiles returns the node-suite files matching pattern, relative to the
// suite directory, or skips when there are none.
func NodeFiles(tb testing.TB, pattern string) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(NodeSuiteDir, pattern))
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) == 0 {
		tb.Skipf("no files match %s in %s (install the Debian package libonnx-testdata)", pattern, NodeSuiteDir)
	}
	return files
}

// FashionMNIST returns the path of the Fashion-MNIST file name (for
// example "train-images-idx3-ubyte.gz"), or skips when it is absent.
func FashionMNIST(tb testing.TB, name string) string {
	tb.Helper()
	p := filepath.Join(FashionMNISTDir, name)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("Fashion-MNIST not available (install the Debian package dataset-fashion-mnist): %v", err)
	}
	return p
}
