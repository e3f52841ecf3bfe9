package store

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tlserve/tlserve/internal/head"
)

// Errors returned by Store methods.
var (
	// ErrNotFound is returned for an unknown model or version.
	ErrNotFound = errors.New("model not found")
	// ErrInvalidName is returned for a model name that does not match
	// ^[a-z0-9][a-z0-9_.-]{0,63}$.
	ErrInvalidName = errors.New("invalid model name")
	// ErrReservedName is returned for "imagenet", the name of the
	// backbone's own classifier.
	ErrReservedName = errors.New("model name is reserved")
)

// Reserved is the model name of the backbone's own ImageNet classifier,
// which cannot be used for a fine-tuned head.
const Reserved = "imagenet"

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// ValidateName returns an error wrapping ErrInvalidName or ErrReservedName
// if name cannot name a fine-tuned model.
func ValidateName(name string) error {
	if name == Reserved {
		return fmt.Errorf("%w: %q is the backbone's own classifier", ErrReservedName, name)
	}
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w: %q (use 1-64 of a-z, 0-9, '_', '.', '-', starting with a letter or digit)", ErrInvalidName, name)
	}
	return nil
}

// checkLookup is ValidateName for a model that must already exist: a name
// that no model can have is simply not found (404 over HTTP), while the
// reserved name keeps its own error.
func checkLookup(name string) error {
	err := ValidateName(name)
	if errors.Is(err, ErrInvalidName) {
		return fmt.Errorf("%w: %q is not a valid model name", ErrNotFound, name)
	}
	return err
}

// VersionInfo describes one immutable version of a model. It is stored as
// meta.json beside the head weights.
type VersionInfo struct {
	Version      int                 `json:"version"`
	CreatedAt    time.Time           `json:"created_at"`
	Labels       []string            `json:"labels"`
	Hyper        head.Hyper          `json:"hyperparameters"`
	Metrics      head.Metrics        `json:"metrics"`
	History      []head.EpochMetrics `json:"history,omitempty"`
	BackboneID   string              `json:"backbone_id"`
	BackboneName string              `json:"backbone_name,omitempty"`
	EmbeddingDim int                 `json:"embedding_dim,omitempty"`
	TrainSize    int                 `json:"train_size"`
	ValSize      int                 `json:"val_size"`
	JobID        string              `json:"job_id,omitempty"`
}

// ModelInfo describes a model: its versions, oldest first, and the active
// one.
type ModelInfo struct {
	Name          string        `json:"name"`
	ActiveVersion int           `json:"active_version"`
	Labels        []string      `json:"labels"`
	Versions      []VersionInfo `json:"versions"`
	Dataset       DatasetInfo   `json:"dataset"`
}

// DatasetInfo summarises a model's stored training set.
type DatasetInfo struct {
	Images     int            `json:"images"`
	Classes    map[string]int `json:"classes"`
	BackboneID string         `json:"backbone_id,omitempty"`
}

// Options configures Open. The zero value is valid.
type Options struct {
	// Logger receives warnings about files skipped while opening; nil
	// discards them.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

type model struct {
	versions map[int]VersionInfo
	active   int
	dataset  DatasetInfo
	// heads caches loaded weights by version; entries are never mutated,
	// so a caller holding a *head.Head keeps a consistent head.
	heads map[int]*head.Head
}

// Store is the on-disk store rooted at a data directory.
type Store struct {
	dir string
	log *slog.Logger
	now func() time.Time

	mu     sync.RWMutex
	models map[string]*model
	// loadMu serialises head loading so that a head is read once.
	loadMu sync.Mutex

	emb embeddings

	// beforeRename, when set by tests, runs between writing a temporary
	// file or directory and renaming it into place.
	beforeRename func(tmp string) error
}

// Open opens (creating if needed) the store in dir, removes leftovers of
// interrupted writes and loads the model index. Unreadable version
// directories are skipped with a warning; an active pointer naming a
// missing version falls back to the newest version.
func Open(dir string, o Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("store: empty data directory")
	}
	s := &Store{dir: dir, log: o.Logger, now: o.Now, models: make(map[string]*model)}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, d := range []string{s.modelsDir(), s.embeddingsDir(), s.jobsDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		if err := s.clean(d); err != nil {
			return nil, err
		}
	}
	s.emb.init(s.embeddingsDir(), s.log)
	backbones, err := os.ReadDir(s.embeddingsDir())
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	for _, e := range backbones {
		if e.IsDir() {
			if err := s.clean(filepath.Join(s.embeddingsDir(), e.Name())); err != nil {
				return nil, err
			}
		}
	}
	entries, err := os.ReadDir(s.modelsDir())
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() || ValidateName(e.Name()) != nil {
			continue
		}
		m, err := s.loadModel(e.Name())
		if err != nil {
			return nil, err
		}
		if m != nil {
			s.models[e.Name()] = m
		}
	}
	return s, nil
}

func (s *Store) clean(dir string) error {
	n, err := removeTemps(dir)
	if err != nil {
		return fmt.Errorf("store: clean %s: %w", dir, err)
	}
	if n > 0 {
		s.log.Warn("removed leftovers of interrupted writes", "dir", dir, "count", n)
	}
	return nil
}

func (s *Store) modelsDir() string        { return filepath.Join(s.dir, "models") }
func (s *Store) embeddingsDir() string    { return filepath.Join(s.dir, "embeddings") }
func (s *Store) jobsDir() string          { return filepath.Join(s.dir, "jobs") }
func (s *Store) modelDir(n string) string { return filepath.Join(s.modelsDir(), n) }
func (s *Store) versionDir(n string, v int) string {
	return filepath.Join(s.modelDir(n), "v"+strconv.Itoa(v))
}

type activePointer struct {
	Version int `json:"version"`
}

// loadModel reads one model directory. It returns nil, nil for a directory
// without any readable version (for example a dataset saved by a job whose
// version was never written).
func (s *Store) loadModel(name string) (*model, error) {
	dir := s.modelDir(name)
	if err := s.clean(dir); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	m := &model{versions: make(map[int]VersionInfo), heads: make(map[int]*head.Head)}
	for _, e := range entries {
		v, ok := parseVersionDir(e.Name())
		if !ok || !e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "meta.json"))
		var vi VersionInfo
		if err == nil {
			err = json.Unmarshal(b, &vi)
		}
		if err == nil && vi.Version != v {
			err = fmt.Errorf("meta.json says version %d", vi.Version)
		}
		if err != nil {
			s.log.Warn("skipping unreadable model version", "model", name, "version", v, "err", err)
			continue
		}
		m.versions[v] = vi
	}
	if len(m.versions) == 0 {
		return nil, nil
	}
	m.active = m.latest()
	if b, err := os.ReadFile(filepath.Join(dir, "active")); err == nil {
		var p activePointer
		if err := json.Unmarshal(b, &p); err != nil {
			s.log.Warn("unreadable active pointer, using newest version", "model", name, "err", err)
		} else if _, ok := m.versions[p.Version]; !ok {
			s.log.Warn("active pointer names a missing version, using newest", "model", name, "version", p.Version)
		} else {
			m.active = p.Version
		}
	}
	if ds, err := s.readDataset(name); err == nil {
		m.dataset = ds.info()
	} else if !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("unreadable dataset", "model", name, "err", err)
	}
	return m, nil
}

func parseVersionDir(n string) (int, bool) {
	if !strings.HasPrefix(n, "v") {
		return 0, false
	}
	v, err := strconv.Atoi(n[1:])
	if err != nil || v <= 0 || "v"+strconv.Itoa(v) != n {
		return 0, false
	}
	return v, true
}

func (m *model) latest() int {
	k := 0
	for v := range m.versions {
		k = max(k, v)
	}
	return k
}

func (m *model) info(name string) ModelInfo {
	mi := ModelInfo{Name: name, ActiveVersion: m.active, Dataset: m.dataset}
	for _, v := range m.versions {
		mi.Versions = append(mi.Versions, v)
	}
	sort.Slice(mi.Versions, func(i, j int) bool { return mi.Versions[i].Version < mi.Versions[j].Version })
	mi.Labels = m.versions[m.active].Labels
	return mi
}

// Models returns every stored model, sorted by name.
func (s *Store) Models() ([]ModelInfo, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]ModelInfo, 0, len(s.models))
	for n, m := range s.models {
		out = append(out, m.info(n))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Model returns the model called name. It returns an error wrapping
// ErrNotFound if there is none, or ErrInvalidName/ErrReservedName.
func (s *Store) Model(name string) (ModelInfo, error) {
	if err := checkLookup(name); err != nil {
		return ModelInfo{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.models[name]
	if !ok {
		return ModelInfo{}, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return m.info(name), nil
}

// SaveVersion stores h as the next version of model name, creating the
// model if needed, and returns v completed with the version number and
// creation time (and with h.Labels when v.Labels is empty). The first
// version of a model becomes active; later ones do not (see Activate). The version directory is
// written under a temporary name and renamed whole, so it either exists
// complete or not at all.
func (s *Store) SaveVersion(name string, h *head.Head, v VersionInfo) (VersionInfo, error) {
	if err := ValidateName(name); err != nil {
		return VersionInfo{}, err
	}
	if h == nil {
		return VersionInfo{}, errors.New("store: nil head")
	}
	weights, err := h.MarshalBinary()
	if err != nil {
		return VersionInfo{}, fmt.Errorf("store: encode head: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.models[name]
	v.Version = 1
	if m != nil {
		v.Version = m.latest() + 1
	}
	if v.CreatedAt.IsZero() {
		v.CreatedAt = s.now().UTC()
	}
	if len(v.Labels) == 0 {
		v.Labels = append([]string(nil), h.Labels...)
	}
	meta, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return VersionInfo{}, fmt.Errorf("store: encode meta: %w", err)
	}
	if err := os.MkdirAll(s.modelDir(name), 0o755); err != nil {
		return VersionInfo{}, fmt.Errorf("store: %w", err)
	}
	if m == nil {
		if err := syncDir(s.modelsDir()); err != nil {
			return VersionInfo{}, fmt.Errorf("store: %w", err)
		}
	}
	if err := s.writeVersionDir(name, v.Version, weights, meta); err != nil {
		return VersionInfo{}, err
	}
	if m == nil {
		m = &model{versions: make(map[int]VersionInfo), heads: make(map[int]*head.Head)}
		if ds, err := s.readDataset(name); err == nil {
			m.dataset = ds.info()
		}
		s.models[name] = m
	}
	m.versions[v.Version] = v
	m.heads[v.Version] = h
	if m.active == 0 {
		// The first version becomes active; the pointer is written now so
		// that a later version does not become active by default on the
		// next Open.
		m.active = v.Version
		if err := s.writeActive(name, v.Version); err != nil {
			return VersionInfo{}, err
		}
	}
	return v, nil
}

func (s *Store) writeVersionDir(name string, version int, weights, meta []byte) error {
	tmp, err := os.MkdirTemp(s.modelDir(name), tmpPrefix+"v"+strconv.Itoa(version)+"-*")
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := s.writeVersionFiles(tmp, weights, meta); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if s.beforeRename != nil {
		if err := s.beforeRename(tmp); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, s.versionDir(name, version)); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("store: %w", err)
	}
	if err := syncDir(s.modelDir(name)); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

func (s *Store) writeVersionFiles(dir string, weights, meta []byte) error {
	for _, f := range []struct {
		name string
		data []byte
	}{{"head.bin", weights}, {"meta.json", meta}} {
		if err := writeSynced(filepath.Join(dir, f.name), f.data); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Activate makes version the active version of model name. It returns an
// error wrapping ErrNotFound if the model or version does not exist.
// Predictions that already hold a *head.Head from Active are unaffected.
func (s *Store) Activate(name string, version int) error {
	if err := checkLookup(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.models[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	if _, ok := m.versions[version]; !ok {
		return fmt.Errorf("%w: %q has no version %d", ErrNotFound, name, version)
	}
	if err := s.writeActive(name, version); err != nil {
		return err
	}
	m.active = version
	return nil
}

func (s *Store) writeActive(name string, version int) error {
	b, _ := json.Marshal(activePointer{Version: version})
	if err := writeFileAtomic(filepath.Join(s.modelDir(name), "active"), b, 0o644, s.beforeRename); err != nil {
		return fmt.Errorf("store: activate: %w", err)
	}
	return nil
}

// Delete removes model name with all its versions and its dataset. The
// shared embedding cache is kept. It returns an error wrapping ErrNotFound
// if there is no such model. Predictions that already hold a *head.Head
// from Active are unaffected.
func (s *Store) Delete(name string) error {
	if err := checkLookup(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.models[name]; !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	// Renaming first makes the deletion atomic: a crash leaves either the
	// model or a temporary directory that Open removes.
	tmp := filepath.Join(s.modelsDir(), tmpPrefix+"del-"+name+"-"+randomHex(4))
	if err := os.Rename(s.modelDir(name), tmp); err != nil {
		return fmt.Errorf("store: delete: %w", err)
	}
	delete(s.models, name)
	if err := syncDir(s.modelsDir()); err != nil {
		return fmt.Errorf("store: delete: %w", err)
	}
	if err := os.RemoveAll(tmp); err != nil {
		s.log.Warn("could not remove deleted model files", "dir", tmp, "err", err)
	}
	return nil
}

// Active returns the active head of model name and its version info,
// loading and caching the weights on first use. The returned head is
// never modified afterwards, so a caller may keep using it while other
// versions are activated or the model is deleted. It returns an error
// wrapping ErrNotFound if there is no such model.
func (s *Store) Active(name string) (*head.Head, VersionInfo, error) {
	if err := checkLookup(name); err != nil {
		return nil, VersionInfo{}, err
	}
	s.mu.RLock()
	m, ok := s.models[name]
	var (
		v  int
		h  *head.Head
		vi VersionInfo
	)
	if ok {
		v = m.active
		h = m.heads[v]
		vi = m.versions[v]
	}
	s.mu.RUnlock()
	if !ok {
		return nil, VersionInfo{}, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	if h != nil {
		return h, vi, nil
	}
	return s.loadHead(name, m, v, vi)
}

func (s *Store) loadHead(name string, m *model, v int, vi VersionInfo) (*head.Head, VersionInfo, error) {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	s.mu.RLock()
	h := m.heads[v]
	s.mu.RUnlock()
	if h != nil {
		return h, vi, nil
	}
	b, err := os.ReadFile(filepath.Join(s.versionDir(name, v), "head.bin"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, VersionInfo{}, fmt.Errorf("%w: %q version %d was deleted", ErrNotFound, name, v)
	}
	if err != nil {
		return nil, VersionInfo{}, fmt.Errorf("store: load head %s v%d: %w", name, v, err)
	}
	h = new(head.Head)
	if err := h.UnmarshalBinary(b); err != nil {
		return nil, VersionInfo{}, fmt.Errorf("store: load head %s v%d: %w", name, v, err)
	}
	s.mu.Lock()
	if cur, ok := s.models[name]; ok && cur == m {
		m.heads[v] = h
	}
	s.mu.Unlock()
	return h, vi, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
