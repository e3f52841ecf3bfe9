package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tlserve/tlserve/internal/imageprep"
)

// ErrInvalid is wrapped by the errors for a manifest that cannot be parsed
// or holds invalid values.
var ErrInvalid = errors.New("manifest: invalid manifest")

// ErrNoLabels is returned by LoadLabels for a manifest that names no
// labels file.
var ErrNoLabels = errors.New("manifest: no labels file")

// maxManifestBytes bounds the manifest file read; real ones are a few
// hundred bytes.
const maxManifestBytes = 1 << 20

// maxLabelsBytes bounds the labels file read.
const maxLabelsBytes = 16 << 20

// Manifest describes a model. The JSON keys are the contract with the
// files under models/.
type Manifest struct {
	// Name is the model's name; it defaults to the model file's base name.
	Name string `json:"name"`
	// InputSize, Resize, ChannelOrder, Scale, Mean, Std and Layout are
	// the fields of imageprep.Spec; Mean and Std have three values, in
	// ChannelOrder.
	InputSize    int       `json:"input_size"`
	Resize       int       `json:"resize"`
	ChannelOrder string    `json:"channel_order"`
	Scale        float32   `json:"scale"`
	Mean         []float32 `json:"mean"`
	Std          []float32 `json:"std"`
	Layout       string    `json:"layout"`
	// Labels is a file of class names, one a line, relative to the
	// manifest's directory; empty when the model has no labels.
	Labels string `json:"labels"`
	// Embedding names the tensor whose value is the image's embedding,
	// overriding automatic detection; empty to detect.
	Embedding string `json:"embedding"`
}

// Default returns the manifest of a model without one: torchvision's
// ImageNet preprocessing, no labels, and the given name.
func Default(name string) Manifest {
	s := imageprep.TorchvisionSpec()
	return Manifest{
		Name:         name,
		InputSize:    s.InputSize,
		Resize:       s.Resize,
		ChannelOrder: s.ChannelOrder,
		Scale:        s.Scale,
		Mean:         s.Mean[:],
		Std:          s.Std[:],
		Layout:       s.Layout,
	}
}

// Path returns the manifest path of the model at modelPath: the same path
// with the extension replaced by ".json".
func Path(modelPath string) string {
	return strings.TrimSuffix(modelPath, filepath.Ext(modelPath)) + ".json"
}

// ForModel returns the manifest of the model at modelPath, read from
// Path(modelPath). Keys missing from the file keep the values of Default,
// with the name defaulting to the model file's base name without its
// extension. When the manifest file does not exist ForModel returns
// Default with that name. Returns an error wrapping ErrInvalid when the
// file is not a single JSON object of known keys or holds invalid values,
// and the read error when it cannot be read.
func ForModel(modelPath string) (Manifest, error) {
	base := filepath.Base(modelPath)
	name := strings.TrimSuffix(base, filepath.Ext(base))
	path := Path(modelPath)
	if path == modelPath {
		return Manifest{}, fmt.Errorf("manifest: model path %s is itself a manifest path", modelPath)
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Default(name), nil
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("manifest: %w", err)
	}
	defer f.Close()
	m, err := Parse(io.LimitReader(f, maxManifestBytes+1), name)
	if err != nil {
		return Manifest{}, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Parse reads a manifest from r; name is the name used when the JSON has
// none. Returns an error wrapping ErrInvalid as ForModel does.
func Parse(r io.Reader, name string) (Manifest, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return Manifest{}, fmt.Errorf("manifest: read: %w", err)
	}
	if len(b) > maxManifestBytes {
		return Manifest{}, fmt.Errorf("%w: larger than %d bytes", ErrInvalid, maxManifestBytes)
	}
	m := Default("")
	// Fresh slices, so that decoding "mean": [1, 2] cannot leave a third
	// default value behind in a shared array.
	m.Mean, m.Std = nil, nil
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Manifest{}, fmt.Errorf("%w: data after the JSON object", ErrInvalid)
	}
	d := Default("")
	if !hasKey(b, "mean") {
		m.Mean = d.Mean
	}
	if !hasKey(b, "std") {
		m.Std = d.Std
	}
	if m.Name == "" {
		m.Name = name
	}
	if err := m.Validate(); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// hasKey reports whether the JSON object in b has the key. b has already
// decoded as an object.
func hasKey(b []byte, key string) bool {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return false
	}
	_, ok := raw[key]
	return ok
}

// Validate returns an error wrapping ErrInvalid when m has an empty name,
// mean or std without exactly three values, a labels path that is not a
// local relative path, or preprocessing values that imageprep.Spec
// rejects.
func (m Manifest) Validate() error {
	switch {
	case m.Name == "":
		return fmt.Errorf("%w: empty name", ErrInvalid)
	case len(m.Mean) != 3:
		return fmt.Errorf("%w: mean has %d values, want 3", ErrInvalid, len(m.Mean))
	case len(m.Std) != 3:
		return fmt.Errorf("%w: std has %d values, want 3", ErrInvalid, len(m.Std))
	case m.Labels != "" && !filepath.IsLocal(m.Labels):
		return fmt.Errorf("%w: labels path %q is not relative to the manifest's directory", ErrInvalid, m.Labels)
	}
	if err := m.Spec().Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// Spec returns the preprocessing m describes. Mean and Std values beyond
// the third are ignored and missing ones are zero; Validate rejects both.
func (m Manifest) Spec() imageprep.Spec {
	s := imageprep.Spec{
		InputSize:    m.InputSize,
		Resize:       m.Resize,
		ChannelOrder: m.ChannelOrder,
		Scale:        m.Scale,
		Layout:       m.Layout,
	}
	copy(s.Mean[:], m.Mean)
	copy(s.Std[:], m.Std)
	return s
}

// LoadLabels reads the labels file named by m, relative to dir (the
// manifest's directory): one class name a line, with trailing white space
// and carriage returns trimmed and a final empty line dropped. Empty lines
// elsewhere are kept as empty names so that line numbers stay class
// indices. Returns ErrNoLabels when m names no file, an error wrapping
// ErrInvalid when the path is not local or the file has no names, and the
// read error when it cannot be read.
func (m Manifest) LoadLabels(dir string) ([]string, error) {
	if m.Labels == "" {
		return nil, ErrNoLabels
	}
	if !filepath.IsLocal(m.Labels) {
		return nil, fmt.Errorf("%w: labels path %q is not relative to the manifest's directory", ErrInvalid, m.Labels)
	}
	path := filepath.Join(dir, m.Labels)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("manifest: labels: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxLabelsBytes+1))
	if err != nil {
		return nil, fmt.Errorf("manifest: labels %s: %w", path, err)
	}
	if len(b) > maxLabelsBytes {
		return nil, fmt.Errorf("%w: labels %s larger than %d bytes", ErrInvalid, path, maxLabelsBytes)
	}
	var labels []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, len(b)+1)
	for sc.Scan() {
		labels = append(labels, strings.TrimRight(sc.Text(), " \t\r\v\f"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("manifest: labels %s: %w", path, err)
	}
	// The scanner already drops the empty string after a final newline;
	// this drops a final line of only white space or an extra blank line.
	if n := len(labels); n > 0 && labels[n-1] == "" {
		labels = labels[:n-1]
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("%w: labels %s has no names", ErrInvalid, path)
	}
	return labels, nil
}

// Write writes m as indented JSON to path atomically: into a temporary
// file in the same directory, synced, then renamed over path, so that a
// reader sees the old manifest or the new one and never a partial file.
// Returns an error wrapping ErrInvalid when m is invalid.
func Write(path string, m Manifest) (err error) {
	if err := m.Validate(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("manifest: encode: %w", err)
	}
	b = append(b, '\n')
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(b); err != nil {
		return fmt.Errorf("manifest: write %s: %w", f.Name(), err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("manifest: sync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("manifest: close %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	// Make the rename itself durable; not every system can sync a
	// directory, and the manifest is already in place, so this is best
	// effort.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
