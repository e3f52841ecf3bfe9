package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tlserve/tlserve/internal/imageprep"
	"github.com/tlserve/tlserve/internal/refdata"
)

// writeFile writes content to name under dir and returns its path.
func writeFile(tb testing.TB, dir, name, content string) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

func TestPath(t *testing.T) {
	tests := map[string]string{
		"models/resnet50.onnx":    "models/resnet50.json",
		"squeezenet1.1-fp16.onnx": "squeezenet1.1-fp16.json",
		"/a/b.c/model":            "/a/b.c/model.json",
		"/a/model.v2.onnx":        "/a/model.v2.json",
	}
	for in, want := range tests {
		if got := Path(in); got != want {
			t.Errorf("Path(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestForModel(t *testing.T) {
	torch := Default("")
	tests := []struct {
		name    string
		json    string // "" means no manifest file.
		want    func(m *Manifest)
		invalid bool
	}{
		{name: "no manifest", want: func(m *Manifest) { m.Name = "net" }},
		{name: "full", json: `{"name": "squeezenet1.1", "input_size": 224, "resize": 256, "channel_order": "BGR", "scale": 1.0,
			"mean": [0, 0, 0], "std": [1, 1, 1], "layout": "NCHW", "labels": "imagenet_classes.txt", "embedding": "pool10"}`,
			want: func(m *Manifest) {
				*m = Manifest{Name: "squeezenet1.1", InputSize: 224, Resize: 256, ChannelOrder: "BGR", Scale: 1,
					Mean: []float32{0, 0, 0}, Std: []float32{1, 1, 1}, Layout: "NCHW", Labels: "imagenet_classes.txt", Embedding: "pool10"}
			}},
		{name: "empty object takes defaults and the file name", json: `{}`, want: func(m *Manifest) { m.Name = "net" }},
		{name: "partial", json: `{"input_size": 299, "resize": 342, "layout": "NHWC"}`,
			want: func(m *Manifest) { m.Name, m.InputSize, m.Resize, m.Layout = "net", 299, 342, "NHWC" }},
		{name: "crop only", json: `{"resize": 0}`, want: func(m *Manifest) { m.Name, m.Resize = "net", 0 }},
		{name: "unknown key", json: `{"input_size": 224, "inputsize": 299}`, invalid: true},
		{name: "malformed", json: `{"input_size": 224,`, invalid: true},
		{name: "not an object", json: `[1, 2]`, invalid: true},
		{name: "trailing data", json: `{} {}`, invalid: true},
		{name: "wrong type", json: `{"input_size": "224"}`, invalid: true},
		{name: "unknown channel order", json: `{"channel_order": "RGBA"}`, invalid: true},
		{name: "unknown layout", json: `{"layout": "CHW"}`, invalid: true},
		{name: "std zero", json: `{"std": [1, 0, 1]}`, invalid: true},
		{name: "mean two values", json: `{"mean": [0.5, 0.5]}`, invalid: true},
		{name: "std four values", json: `{"std": [1, 1, 1, 1]}`, invalid: true},
		{name: "mean null", json: `{"mean": null}`, invalid: true},
		{name: "negative input size", json: `{"input_size": -224}`, invalid: true},
		{name: "negative resize", json: `{"resize": -1}`, invalid: true},
		{name: "resize under input", json: `{"resize": 100}`, invalid: true},
		{name: "zero scale", json: `{"scale": 0}`, invalid: true},
		{name: "labels outside the directory", json: `{"labels": "../secrets.txt"}`, invalid: true},
		{name: "absolute labels", json: `{"labels": "/etc/passwd"}`, invalid: true},
		{name: "empty file", json: ` `, invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			model := filepath.Join(dir, "net.onnx")
			if tt.json != "" {
				writeFile(t, dir, "net.json", tt.json)
			}
			got, err := ForModel(model)
			if tt.invalid {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("ForModel error = %v, want ErrInvalid", err)
				}
				if !strings.Contains(err.Error(), "net.json") {
					t.Errorf("error %q does not name the file", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := torch
			want.Mean = append([]float32(nil), torch.Mean...)
			want.Std = append([]float32(nil), torch.Std...)
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ForModel =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestForModelUnreadable(t *testing.T) {
	dir := t.TempDir()
	// A directory where the manifest should be cannot be read as one.
	if err := os.Mkdir(filepath.Join(dir, "net.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := ForModel(filepath.Join(dir, "net.onnx")); err == nil {
		t.Error("ForModel succeeded with a directory as the manifest")
	}
	if _, err := ForModel(filepath.Join(dir, "other.json")); err == nil {
		t.Error("ForModel accepted a model path that is its own manifest path")
	}
}

func TestSpec(t *testing.T) {
	if got, want := Default("x").Spec(), imageprep.TorchvisionSpec(); got != want {
		t.Errorf("Default().Spec() = %+v, want %+v", got, want)
	}
	m := Manifest{Name: "m", InputSize: 8, Resize: 9, ChannelOrder: "BGR", Scale: 2,
		Mean: []float32{1, 2, 3}, Std: []float32{4, 5, 6}, Layout: "NHWC"}
	want := imageprep.Spec{InputSize: 8, Resize: 9, ChannelOrder: "BGR", Scale: 2,
		Mean: [3]float32{1, 2, 3}, Std: [3]float32{4, 5, 6}, Layout: "NHWC"}
	if got := m.Spec(); got != want {
		t.Errorf("Spec() = %+v, want %+v", got, want)
	}
}

func TestLoadLabels(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string
		err     error
	}{
		{"plain", "cat\ndog\n", []string{"cat", "dog"}, nil},
		{"no final newline", "cat\ndog", []string{"cat", "dog"}, nil},
		{"CRLF", "cat\r\ndog\r\n", []string{"cat", "dog"}, nil},
		{"trailing white space", "tabby cat \t\ngolden retriever  \n", []string{"tabby cat", "golden retriever"}, nil},
		{"trailing blank line", "cat\ndog\n\n", []string{"cat", "dog"}, nil},
		{"trailing white line", "cat\ndog\n  \r\n", []string{"cat", "dog"}, nil},
		{"blank line inside kept", "cat\n\ndog\n", []string{"cat", "", "dog"}, nil},
		{"leading space kept", "  cat\n", []string{"  cat"}, nil},
		{"empty", "", nil, ErrInvalid},
		{"only newline", "\n", nil, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "labels.txt", tt.content)
			got, err := Manifest{Labels: "labels.txt"}.LoadLabels(dir)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("labels = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadLabelsErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		labels string
		check  func(error) bool
	}{
		{"none", "", func(err error) bool { return errors.Is(err, ErrNoLabels) }},
		{"missing file", "nope.txt", func(err error) bool { return errors.Is(err, os.ErrNotExist) }},
		{"escapes the directory", "../labels.txt", func(err error) bool { return errors.Is(err, ErrInvalid) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Manifest{Labels: tt.labels}.LoadLabels(dir)
			if !tt.check(err) {
				t.Errorf("LoadLabels error = %v", err)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "net.json")
	m := Default("net")
	m.Labels, m.Embedding, m.ChannelOrder = "labels.txt", "pool5", "BGR"
	if err := Write(path, m); err != nil {
		t.Fatal(err)
	}
	got, err := ForModel(filepath.Join(dir, "net.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("round trip =\n%+v\nwant\n%+v", got, m)
	}
	// Overwrite, and leave no temporary files behind.
	m.InputSize, m.Resize = 299, 342
	if err := Write(path, m); err != nil {
		t.Fatal(err)
	}
	if got, err := ForModel(filepath.Join(dir, "net.onnx")); err != nil || got.InputSize != 299 {
		t.Errorf("after overwrite: %+v, %v", got, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "net.json" {
		t.Errorf("directory holds %v, want only net.json", entries)
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	bad := Default("net")
	bad.Std = []float32{1, 0, 1}
	if err := Write(filepath.Join(dir, "net.json"), bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("Write invalid = %v, want ErrInvalid", err)
	}
	if err := Write(filepath.Join(dir, "missing", "net.json"), Default("net")); err == nil {
		t.Error("Write into a missing directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("failed writes left %v", entries)
	}
}

// TestCommittedManifests checks the manifests under models/ parse, give
// the expected preprocessing, and load the 1000 ImageNet labels.
func TestCommittedManifests(t *testing.T) {
	models := filepath.Join(refdata.Root(t), "models")
	tests := []struct {
		model string
		spec  imageprep.Spec
	}{
		{"squeezenet1.1-fp16.onnx", imageprep.Spec{InputSize: 224, Resize: 256, ChannelOrder: "BGR", Scale: 1,
			Std: [3]float32{1, 1, 1}, Layout: "NCHW"}},
		{"resnet50.onnx", imageprep.TorchvisionSpec()},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			path := filepath.Join(models, tt.model)
			if _, err := os.Stat(Path(path)); err != nil {
				t.Fatalf("manifest missing: %v", err)
			}
			m, err := ForModel(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Spec(); got != tt.spec {
				t.Errorf("Spec() = %+v, want %+v", got, tt.spec)
			}
			labels, err := m.LoadLabels(models)
			if err != nil {
				t.Fatal(err)
			}
			if len(labels) != 1000 {
				t.Fatalf("%d labels, want 1000", len(labels))
			}
			if labels[207] != "golden retriever" {
				t.Errorf("label 207 = %q, want golden retriever", labels[207])
			}
		})
	}
}
