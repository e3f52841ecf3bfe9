package store

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

var jobIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$`)

func (s *Store) jobPath(id string) (string, error) {
	if !jobIDRE.MatchString(id) {
		return "", fmt.Errorf("store: invalid job id %q", id)
	}
	return filepath.Join(s.jobsDir(), id+".json"), nil
}

// PutJob atomically writes the record of job id (opaque bytes, JSON by
// convention), replacing any previous record.
func (s *Store) PutJob(id string, record []byte) error {
	p, err := s.jobPath(id)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(p, record, 0o644, s.beforeRename); err != nil {
		return fmt.Errorf("store: put job: %w", err)
	}
	return nil
}

// DeleteJob removes the record of job id; a missing record is not an
// error.
func (s *Store) DeleteJob(id string) error {
	p, err := s.jobPath(id)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("store: delete job: %w", err)
	}
	return nil
}

// JobRecords returns every stored job record, in id order.
func (s *Store) JobRecords() ([][]byte, error) {
	entries, err := os.ReadDir(s.jobsDir())
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var out [][]byte
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.jobsDir(), e.Name()))
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		out = append(out, b)
	}
	return out, nil
}
