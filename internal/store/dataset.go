package store

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Entry is one example of a model's training set: the image is identified
// by the SHA-256 of its bytes (hex), its embedding lives in the shared
// cache.
type Entry struct {
	SHA256 string `json:"sha256"`
	Label  string `json:"label"`
	Name   string `json:"name,omitempty"`
}

// Dataset is a model's training set as of its last successful job.
// Embeddings are only valid for the backbone identified by BackboneID.
type Dataset struct {
	BackboneID string  `json:"backbone_id"`
	Entries    []Entry `json:"entries"`
}

func (d Dataset) info() DatasetInfo {
	di := DatasetInfo{Images: len(d.Entries), Classes: make(map[string]int), BackboneID: d.BackboneID}
	for _, e := range d.Entries {
		di.Classes[e.Label]++
	}
	return di
}

func (s *Store) datasetPath(name string) string {
	return filepath.Join(s.modelDir(name), "dataset.json")
}

func (s *Store) readDataset(name string) (Dataset, error) {
	var d Dataset
	b, err := os.ReadFile(s.datasetPath(name))
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("decode %s: %w", s.datasetPath(name), err)
	}
	return d, nil
}

// Dataset returns the stored training set of model name, or an empty
// Dataset if the model has none yet (a model's first job).
func (s *Store) Dataset(name string) (Dataset, error) {
	if err := ValidateName(name); err != nil {
		return Dataset{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, err := s.readDataset(name)
	if os.IsNotExist(err) {
		return Dataset{}, nil
	}
	if err != nil {
		return Dataset{}, fmt.Errorf("store: %w", err)
	}
	return d, nil
}

// SaveDataset atomically replaces the training set of model name. The
// embeddings it references should already be in the cache (see
// PutEmbeddings).
func (s *Store) SaveDataset(name string, d Dataset) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("store: encode dataset: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(s.modelDir(name), 0o755); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := writeFileAtomic(s.datasetPath(name), b, 0o644, s.beforeRename); err != nil {
		return fmt.Errorf("store: save dataset: %w", err)
	}
	if m, ok := s.models[name]; ok {
		m.dataset = d.info()
	}
	return nil
}
