package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func vec(dim int, seed float32) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = seed + float32(i)/8
	}
	return v
}

func segments(tb testing.TB, dir, backbone string) []string {
	tb.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "embeddings", backbone, "*.emb"))
	return m
}

func TestEmbeddings(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	a, b, c := KeyOf([]byte("a")), KeyOf([]byte("b")), KeyOf([]byte("c"))
	if err := s.PutEmbeddings("bb1", []Key{a, b}, [][]float32{vec(5, 1), vec(5, 2)}); err != nil {
		t.Fatal(err)
	}
	// Re-putting a cached key writes nothing; a new one goes in a new segment.
	if err := s.PutEmbeddings("bb1", []Key{a, c}, [][]float32{vec(5, 9), vec(5, 3)}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutEmbeddings("bb1", []Key{a}, [][]float32{vec(5, 9)}); err != nil {
		t.Fatal(err)
	}
	if n := len(segments(t, dir, "bb1")); n != 2 {
		t.Fatalf("%d segments, want 2", n)
	}
	for _, reopen := range []bool{false, true} {
		t.Run(fmt.Sprint("reopen=", reopen), func(t *testing.T) {
			if reopen {
				s = mustOpen(t, dir)
			}
			got, err := s.Embeddings("bb1", []Key{c, KeyOf([]byte("missing")), a, b})
			if err != nil {
				t.Fatal(err)
			}
			want := [][]float32{vec(5, 3), nil, vec(5, 1), vec(5, 2)}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Embeddings = %v, want %v", got, want)
			}
			// Another backbone never sees these vectors.
			other, err := s.Embeddings("bb2", []Key{a, b, c})
			if err != nil || other[0] != nil || other[1] != nil || other[2] != nil {
				t.Fatalf("other backbone = %v, %v", other, err)
			}
		})
	}
}

func TestEmbeddingsErrors(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	a, b := KeyOf([]byte("a")), KeyOf([]byte("b"))
	if err := s.PutEmbeddings("bb1", []Key{a}, [][]float32{vec(4, 0)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		id   string
		keys []Key
		vecs [][]float32
		want error
	}{
		{"dimension mismatch with cache", "bb1", []Key{b}, [][]float32{vec(3, 0)}, nil},
		{"mixed dimensions", "bb2", []Key{a, b}, [][]float32{vec(3, 0), vec(4, 0)}, nil},
		{"count mismatch", "bb1", []Key{b}, nil, nil},
		{"path in backbone id", "../x", []Key{b}, [][]float32{vec(4, 0)}, ErrBadBackboneID},
		{"empty backbone id", "", []Key{b}, [][]float32{vec(4, 0)}, ErrBadBackboneID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.PutEmbeddings(tt.id, tt.keys, tt.vecs)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("PutEmbeddings = %v, want an error (%v)", err, tt.want)
			}
		})
	}
}

func TestEmbeddingCorruptionIsAMiss(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	a, b := KeyOf([]byte("a")), KeyOf([]byte("b"))
	if err := s.PutEmbeddings("bb1", []Key{a, b}, [][]float32{vec(4, 1), vec(4, 2)}); err != nil {
		t.Fatal(err)
	}
	seg := segments(t, dir, "bb1")[0]
	f, err := os.OpenFile(seg, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Flip a byte in the last vector (b's).
	st, _ := f.Stat()
	f.WriteAt([]byte{0x55}, st.Size()-3)
	f.Close()
	s = mustOpen(t, dir)
	got, err := s.Embeddings("bb1", []Key{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got[0], vec(4, 1)) || got[1] != nil {
		t.Fatalf("Embeddings = %v, want a intact and b missing", got)
	}
	// A truncated segment is skipped as a whole.
	os.Truncate(seg, 20)
	s = mustOpen(t, dir)
	if got, _ := s.Embeddings("bb1", []Key{a}); got[0] != nil {
		t.Fatalf("truncated segment still served %v", got[0])
	}
}

func BenchmarkEmbeddings(b *testing.B) {
	const dim = 512
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			s := mustOpen(b, b.TempDir())
			keys := make([]Key, n)
			vecs := make([][]float32, n)
			for i := range keys {
				keys[i] = KeyOf([]byte(fmt.Sprint(i)))
				vecs[i] = vec(dim, float32(i))
			}
			if err := s.PutEmbeddings("bb", keys, vecs); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(n * dim * 4))
			for b.Loop() {
				if _, err := s.Embeddings("bb", keys); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPutEmbeddings writes one segment of n vectors of dimension
// 2048 (ResNet-50), the cost a job pays for n new images.
func BenchmarkPutEmbeddings(b *testing.B) {
	const dim = 2048
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			s := mustOpen(b, b.TempDir())
			vecs := make([][]float32, n)
			for i := range vecs {
				vecs[i] = vec(dim, float32(i))
			}
			b.ReportAllocs()
			b.SetBytes(int64(n * dim * 4))
			round := 0
			for b.Loop() {
				keys := make([]Key, n)
				for i := range keys {
					keys[i] = KeyOf([]byte(fmt.Sprint(round, "/", i)))
				}
				round++
				if err := s.PutEmbeddings("bb", keys, vecs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpenIndex measures the first lookup after a restart, which
// reads the key table of every segment: 10 segments of n vectors.
func BenchmarkOpenIndex(b *testing.B) {
	const dim = 2048
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("n=10x%d", n), func(b *testing.B) {
			dir := b.TempDir()
			s := mustOpen(b, dir)
			var probe Key
			for g := 0; g < 10; g++ {
				keys := make([]Key, n)
				vecs := make([][]float32, n)
				for i := range keys {
					keys[i] = KeyOf([]byte(fmt.Sprint(g, "/", i)))
					vecs[i] = vec(dim, float32(i))
				}
				probe = keys[0]
				if err := s.PutEmbeddings("bb", keys, vecs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				s := mustOpen(b, dir)
				if v, err := s.Embeddings("bb", []Key{probe}); err != nil || v[0] == nil {
					b.Fatal("probe missing", err)
				}
			}
		})
	}
}
