package modelgen

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Manifest is the preprocessing description tlserve reads beside a model
// (models/<name>.json). Generated models expect torchvision's
// preprocessing: RGB scaled to [0,1], ImageNet mean and std, NCHW.
type Manifest struct {
	Name         string    `json:"name"`
	InputSize    int       `json:"input_size"`
	Resize       int       `json:"resize"`
	ChannelOrder string    `json:"channel_order"`
	Scale        float64   `json:"scale"`
	Mean         []float64 `json:"mean"`
	Std          []float64 `json:"std"`
	Layout       string    `json:"layout"`
	Labels       string    `json:"labels"`
	Embedding    string    `json:"embedding"`
}

// ManifestFor returns the manifest of the model o describes, named name.
// It returns the errors of Build for bad options.
func ManifestFor(name string, o Options) (Manifest, error) {
	o, _, err := o.withDefaults()
	if err != nil {
		return Manifest{}, err
	}
	return Manifest{
		Name:         name,
		InputSize:    o.InputSize,
		Resize:       int(math.Round(float64(o.InputSize) * 256 / 224)),
		ChannelOrder: "RGB",
		Scale:        1.0 / 255,
		Mean:         []float64{0.485, 0.456, 0.406},
		Std:          []float64{0.229, 0.224, 0.225},
		Layout:       "NCHW",
	}, nil
}

// WriteFiles generates the model o describes into path and its manifest
// beside it (path with .onnx replaced by .json), each written to a temporary
// file and renamed, so that a concurrent reader never sees a partial file. It
// returns the errors of Build and of the file system.
func WriteFiles(path string, o Options) error {
	b, err := Generate(o)
	if err != nil {
		return err
	}
	name := strings.TrimSuffix(filepath.Base(path), ".onnx")
	m, err := ManifestFor(name, o)
	if err != nil {
		return err
	}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("modelgen: encode manifest: %w", err)
	}
	if err := writeAtomic(path, b); err != nil {
		return err
	}
	return writeAtomic(strings.TrimSuffix(path, ".onnx")+".json", append(js, '\n'))
}

// writeAtomic writes data to a temporary file beside path and renames it.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("modelgen: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("modelgen: write %s: %w", path, err)
	}
	return nil
}
