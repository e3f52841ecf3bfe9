package modelgen

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/tlserve/tlserve/internal/manifest"
)

// ManifestFor returns the manifest of the model o describes, named name:
// torchvision's preprocessing (manifest.Default) at o's input size, resizing
// the short side to 256/224 of it first. It returns the errors of Build for
// bad options.
func ManifestFor(name string, o Options) (manifest.Manifest, error) {
	o, _, err := o.withDefaults()
	if err != nil {
		return manifest.Manifest{}, err
	}
	m := manifest.Default(name)
	m.InputSize = o.InputSize
	m.Resize = int(math.Round(float64(o.InputSize) * 256 / 224))
	return m, nil
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
	if err := writeAtomic(path, b); err != nil {
		return err
	}
	if err := manifest.Write(manifest.Path(path), m); err != nil {
		return fmt.Errorf("modelgen: %w", err)
	}
	return nil
}

// writeAtomic writes data to a temporary file beside path and renames it.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("modelgen: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		// CreateTemp makes the file 0600; a model is meant to be read by
		// whoever serves it (a container user, say).
		err = f.Chmod(0o644)
	}
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
