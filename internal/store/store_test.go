package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/tlserve/tlserve/internal/head"
)

// trainHead trains a tiny real head whose classes are labels.
func trainHead(tb testing.TB, labels ...string) *head.Head {
	tb.Helper()
	var x [][]float32
	var y []int
	for c := range labels {
		for i := 0; i < 6; i++ {
			v := make([]float32, 4)
			v[c%4] = 1 + float32(i)/10
			x = append(x, v)
			y = append(y, c)
		}
	}
	h := head.DefaultHyper()
	h.Epochs = 2
	h.Seed = 1
	hd, _, err := head.Train(context.Background(), x, y, labels, h, nil)
	if err != nil {
		tb.Fatalf("head.Train: %v", err)
	}
	return hd
}

func mustOpen(tb testing.TB, dir string) *Store {
	tb.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return s
}

func mustSave(tb testing.TB, s *Store, name string, h *head.Head, jobID string) VersionInfo {
	tb.Helper()
	v, err := s.SaveVersion(name, h, VersionInfo{BackboneID: "bb1", JobID: jobID, TrainSize: 10, ValSize: 2})
	if err != nil {
		tb.Fatalf("SaveVersion(%q): %v", name, err)
	}
	return v
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		want error
	}{
		{"cats", nil},
		{"a", nil},
		{"my-model_2.v1", nil},
		{strings.Repeat("a", 64), nil},
		{strings.Repeat("a", 65), ErrInvalidName},
		{"", ErrInvalidName},
		{"Cats", ErrInvalidName},
		{"-cats", ErrInvalidName},
		{".tmp-x", ErrInvalidName},
		{"..", ErrInvalidName},
		{"a/b", ErrInvalidName},
		{"a b", ErrInvalidName},
		{"imagenet", ErrReservedName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateName(tt.name)
			if tt.want == nil && err != nil || !errors.Is(err, tt.want) {
				t.Fatalf("ValidateName(%q) = %v, want %v", tt.name, err, tt.want)
			}
		})
	}
}

func activeVersion(tb testing.TB, s *Store, name string) int {
	tb.Helper()
	_, vi, err := s.Active(name)
	if err != nil {
		tb.Fatalf("Active(%q): %v", name, err)
	}
	return vi.Version
}

func TestVersionsActivateRollback(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	if _, err := s.Model("pets"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Model of empty store = %v, want ErrNotFound", err)
	}
	if _, _, err := s.Active("pets"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Active of empty store = %v, want ErrNotFound", err)
	}
	v1 := mustSave(t, s, "pets", trainHead(t, "cat", "dog"), "job1")
	v2 := mustSave(t, s, "pets", trainHead(t, "cat", "dog", "fish"), "job2")
	if v1.Version != 1 || v2.Version != 2 {
		t.Fatalf("versions = %d, %d, want 1, 2", v1.Version, v2.Version)
	}
	if !reflect.DeepEqual(v2.Labels, []string{"cat", "dog", "fish"}) {
		t.Fatalf("labels from head = %v", v2.Labels)
	}
	if v2.CreatedAt.IsZero() {
		t.Fatal("CreatedAt not set")
	}
	if got := activeVersion(t, s, "pets"); got != 1 {
		t.Fatalf("after saving v2 active = %d, want 1 (saving does not activate)", got)
	}
	if err := s.Activate("pets", 2); err != nil {
		t.Fatal(err)
	}
	h, vi, err := s.Active("pets")
	if err != nil || vi.Version != 2 || len(h.Labels) != 3 || vi.JobID != "job2" {
		t.Fatalf("Active = %v %+v %v", h, vi, err)
	}
	for _, tt := range []struct {
		name    string
		version int
	}{{"pets", 3}, {"pets", 0}, {"nope", 1}} {
		if err := s.Activate(tt.name, tt.version); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Activate(%q, %d) = %v, want ErrNotFound", tt.name, tt.version, err)
		}
	}
	if err := s.Activate("imagenet", 1); !errors.Is(err, ErrReservedName) {
		t.Fatalf("Activate(imagenet) = %v, want ErrReservedName", err)
	}

	// Restart: versions and the active pointer survive, heads load from disk.
	s = mustOpen(t, dir)
	mi, err := s.Model("pets")
	if err != nil {
		t.Fatal(err)
	}
	if mi.ActiveVersion != 2 || len(mi.Versions) != 2 || mi.Versions[0].Version != 1 || mi.Versions[1].TrainSize != 10 {
		t.Fatalf("after reopen Model = %+v", mi)
	}
	if !reflect.DeepEqual(mi.Labels, []string{"cat", "dog", "fish"}) {
		t.Fatalf("active labels = %v", mi.Labels)
	}
	h2, _, err := s.Active("pets")
	if err != nil || !reflect.DeepEqual(h2.Labels, h.Labels) {
		t.Fatalf("reloaded head labels = %v, %v; want %v", h2, err, h.Labels)
	}
	in := []float32{0, 1, 0, 0}
	before := make([]float32, 3)
	h2.Predict(before, in)
	if err := s.Activate("pets", 1); err != nil {
		t.Fatal(err)
	}
	// A prediction holding the v2 head is not disturbed by the rollback.
	after := make([]float32, 3)
	h2.Predict(after, in)
	if !reflect.DeepEqual(before, after) || len(h2.Labels) != 3 {
		t.Fatalf("held head changed by Activate: %v -> %v", before, after)
	}
	if h1, _, _ := s.Active("pets"); len(h1.Labels) != 2 {
		t.Fatalf("after rollback Active has %d labels, want 2", len(h1.Labels))
	}
	s = mustOpen(t, dir)
	if got := activeVersion(t, s, "pets"); got != 1 {
		t.Fatalf("after rollback and reopen active = %d, want 1", got)
	}
	ms, _ := s.Models()
	if len(ms) != 1 || ms[0].Name != "pets" {
		t.Fatalf("Models = %+v", ms)
	}
}

func TestDelete(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	mustSave(t, s, "pets", trainHead(t, "cat", "dog"), "")
	mustSave(t, s, "other", trainHead(t, "a", "b"), "")
	if err := s.SaveDataset("pets", Dataset{BackboneID: "bb1", Entries: []Entry{{SHA256: "00", Label: "cat"}}}); err != nil {
		t.Fatal(err)
	}
	held, _, err := s.Active("pets")
	if err != nil {
		t.Fatal(err)
	}
	in := []float32{1, 0, 0, 0}
	before := make([]float32, 2)
	held.Predict(before, in)

	if err := s.Delete("pets"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("pets"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Delete = %v, want ErrNotFound", err)
	}
	if _, _, err := s.Active("pets"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Active after Delete = %v, want ErrNotFound", err)
	}
	after := make([]float32, 2)
	held.Predict(after, in)
	if !reflect.DeepEqual(before, after) || held.Labels[1] != "dog" {
		t.Fatalf("held head changed by Delete: %v -> %v", before, after)
	}
	if _, err := os.Stat(filepath.Join(dir, "models", "pets")); !os.IsNotExist(err) {
		t.Fatalf("model dir still there: %v", err)
	}
	if d, err := s.Dataset("pets"); err != nil || len(d.Entries) != 0 {
		t.Fatalf("dataset after delete = %+v, %v", d, err)
	}
	s = mustOpen(t, dir)
	ms, _ := s.Models()
	if len(ms) != 1 || ms[0].Name != "other" {
		t.Fatalf("Models after delete and reopen = %+v", ms)
	}
	// The name can be reused and starts again at version 1.
	if v := mustSave(t, s, "pets", trainHead(t, "x", "y"), ""); v.Version != 1 {
		t.Fatalf("recreated model version = %d, want 1", v.Version)
	}
}

// errCrash simulates the process dying between the temporary write and the
// rename: the hook leaves the temporary file behind.
var errCrash = errors.New("simulated crash")

func crashOnce(s *Store) {
	s.beforeRename = func(string) error {
		s.beforeRename = nil
		return errCrash
	}
}

func countTemps(tb testing.TB, dir string) int {
	tb.Helper()
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), tmpPrefix) {
			n++
		}
		return nil
	})
	return n
}

func TestCrashBeforeRenameKeepsOldState(t *testing.T) {
	key := KeyOf([]byte("img"))
	tests := []struct {
		name  string
		write func(*Store) error
		check func(*testing.T, *Store)
	}{
		{
			name: "new version",
			write: func(s *Store) error {
				_, err := s.SaveVersion("pets", trainHead(t, "a", "b", "c"), VersionInfo{})
				return err
			},
			check: func(t *testing.T, s *Store) {
				mi, _ := s.Model("pets")
				if len(mi.Versions) != 1 {
					t.Fatalf("versions = %d, want 1", len(mi.Versions))
				}
			},
		},
		{
			name:  "activate",
			write: func(s *Store) error { return s.Activate("pets", 2) },
			check: func(t *testing.T, s *Store) {
				if v := activeVersion(t, s, "pets"); v != 1 {
					t.Fatalf("active = %d, want 1", v)
				}
			},
		},
		{
			name:  "dataset",
			write: func(s *Store) error { return s.SaveDataset("pets", Dataset{BackboneID: "bb1"}) },
			check: func(t *testing.T, s *Store) {
				if d, _ := s.Dataset("pets"); len(d.Entries) != 1 {
					t.Fatalf("dataset = %+v, want the old one entry", d)
				}
			},
		},
		{
			name:  "embeddings",
			write: func(s *Store) error { return s.PutEmbeddings("bb1", []Key{key}, [][]float32{{1, 2}}) },
			check: func(t *testing.T, s *Store) {
				if e, _ := s.Embeddings("bb1", []Key{key}); e[0] != nil {
					t.Fatalf("embedding = %v, want none", e[0])
				}
			},
		},
		{
			name:  "job record",
			write: func(s *Store) error { return s.PutJob("j1", []byte(`{"new":true}`)) },
			check: func(t *testing.T, s *Store) {
				r, _ := s.JobRecords()
				if len(r) != 1 || string(r[0]) != `{"old":true}` {
					t.Fatalf("job records = %q", r)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir)
			mustSave(t, s, "pets", trainHead(t, "cat", "dog"), "")
			if err := s.SaveDataset("pets", Dataset{BackboneID: "bb1", Entries: []Entry{{SHA256: "00", Label: "cat"}}}); err != nil {
				t.Fatal(err)
			}
			if err := s.PutJob("j1", []byte(`{"old":true}`)); err != nil {
				t.Fatal(err)
			}
			if tt.name == "activate" {
				mustSave(t, s, "pets", trainHead(t, "a", "b"), "")
			}
			crashOnce(s)
			if err := tt.write(s); !errors.Is(err, errCrash) {
				t.Fatalf("write = %v, want the simulated crash", err)
			}
			if countTemps(t, dir) == 0 {
				t.Fatal("simulated crash left no temporary file")
			}
			s = mustOpen(t, dir) // restart
			tt.check(t, s)
			if n := countTemps(t, dir); n != 0 {
				t.Fatalf("%d temporary files survive reopening", n)
			}
		})
	}
}

func TestStrayTempFileIgnored(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	mustSave(t, s, "pets", trainHead(t, "cat", "dog"), "")
	mdir := filepath.Join(dir, "models", "pets")
	for _, n := range []string{".tmp-active-123", ".tmp-v2-456/meta.json"} {
		os.MkdirAll(filepath.Dir(filepath.Join(mdir, n)), 0o755)
		if err := os.WriteFile(filepath.Join(mdir, n), []byte(`{"version": 2}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s = mustOpen(t, dir)
	mi, err := s.Model("pets")
	if err != nil || mi.ActiveVersion != 1 || len(mi.Versions) != 1 {
		t.Fatalf("Model = %+v, %v", mi, err)
	}
	if n := countTemps(t, dir); n != 0 {
		t.Fatalf("%d temporary files left", n)
	}
}

func TestBrokenActivePointerFallsBackToNewest(t *testing.T) {
	for _, content := range []string{`{"version": 9}`, `garbage`} {
		t.Run(content, func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir)
			mustSave(t, s, "pets", trainHead(t, "cat", "dog"), "")
			mustSave(t, s, "pets", trainHead(t, "cat", "dog"), "")
			os.WriteFile(filepath.Join(dir, "models", "pets", "active"), []byte(content), 0o644)
			s = mustOpen(t, dir)
			if v := activeVersion(t, s, "pets"); v != 2 {
				t.Fatalf("active = %d, want 2", v)
			}
		})
	}
}

func TestDataset(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	d := Dataset{BackboneID: "bb1", Entries: []Entry{{SHA256: "aa", Label: "cat", Name: "c.jpg"}, {SHA256: "bb", Label: "dog"}, {SHA256: "cc", Label: "cat"}}}
	if err := s.SaveDataset("pets", d); err != nil {
		t.Fatal(err)
	}
	// A dataset alone does not make a model.
	if _, err := s.Model("pets"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Model = %v, want ErrNotFound", err)
	}
	mustSave(t, s, "pets", trainHead(t, "cat", "dog"), "")
	s = mustOpen(t, dir)
	got, err := s.Dataset("pets")
	if err != nil || !reflect.DeepEqual(got, d) {
		t.Fatalf("Dataset = %+v, %v", got, err)
	}
	mi, _ := s.Model("pets")
	if mi.Dataset.Images != 3 || mi.Dataset.Classes["cat"] != 2 || mi.Dataset.BackboneID != "bb1" {
		t.Fatalf("Model dataset info = %+v", mi.Dataset)
	}
	if _, err := s.Dataset("Bad Name"); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("Dataset(bad) = %v", err)
	}
}

func TestConcurrentActivateAndActive(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	mustSave(t, s, "pets", trainHead(t, "cat", "dog"), "")
	mustSave(t, s, "pets", trainHead(t, "cat", "dog", "fish"), "")
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				h, vi, err := s.Active("pets")
				if err != nil {
					t.Error(err)
					return
				}
				if len(h.Labels) != len(vi.Labels) {
					t.Errorf("head with %d labels returned for version %d with %d", len(h.Labels), vi.Version, len(vi.Labels))
				}
				out := make([]float32, len(h.Labels))
				h.Predict(out, []float32{1, 0, 0, 0})
				s.Models()
			}
		}()
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if err := s.Activate("pets", 1+(g+i)%2); err != nil {
					t.Error(err)
				}
			}
		}(g)
	}
	wg.Wait()
}

func TestJobRecords(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	for i, id := range []string{"b2", "a1", "c3"} {
		if err := s.PutJob(id, []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	s.PutJob("a1", []byte("updated"))
	if err := s.DeleteJob("c3"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteJob("c3"); err != nil {
		t.Fatalf("deleting a missing record: %v", err)
	}
	s = mustOpen(t, dir)
	r, err := s.JobRecords()
	if err != nil || len(r) != 2 || string(r[0]) != "updated" || string(r[1]) != "0" {
		t.Fatalf("JobRecords = %q, %v", r, err)
	}
	for _, id := range []string{"../x", "", ".tmp-x", "a/b"} {
		if err := s.PutJob(id, nil); err == nil {
			t.Fatalf("PutJob(%q) accepted", id)
		}
	}
}

// TestLookupOfImpossibleName: a name no model can have is not found when
// looked up (a 404 over HTTP), but refused as invalid when creating.
func TestLookupOfImpossibleName(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	const bad = "Bad/Name"
	if _, err := s.Model(bad); !errors.Is(err, ErrNotFound) {
		t.Errorf("Model(%q) = %v, want ErrNotFound", bad, err)
	}
	if _, _, err := s.Active(bad); !errors.Is(err, ErrNotFound) {
		t.Errorf("Active(%q) = %v, want ErrNotFound", bad, err)
	}
	if err := s.Activate(bad, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("Activate(%q) = %v, want ErrNotFound", bad, err)
	}
	if err := s.Delete(bad); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete(%q) = %v, want ErrNotFound", bad, err)
	}
	if err := s.Delete(Reserved); !errors.Is(err, ErrReservedName) {
		t.Errorf("Delete(%q) = %v, want ErrReservedName", Reserved, err)
	}
	if _, err := s.SaveVersion(bad, nil, VersionInfo{}); !errors.Is(err, ErrInvalidName) {
		t.Errorf("SaveVersion(%q) = %v, want ErrInvalidName", bad, err)
	}
}
