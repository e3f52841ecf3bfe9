package finetune

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/tlserve/tlserve/internal/dataset"
	"github.com/tlserve/tlserve/internal/imageprep"
)

// sharedDir finds the reference material: ../shared beside the module
// root.
func sharedDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skip("no go.mod above the test directory")
		}
		dir = parent
	}
	shared := filepath.Join(dir, "..", "shared")
	if _, err := os.Stat(filepath.Join(shared, "data", "images")); err != nil {
		tb.Skipf("reference images not found under %s: %v", shared, err)
	}
	return shared
}

// TestValidateRealImages runs the default decoder (imageprep.Decode) over
// the reference photos and damaged copies of them.
func TestValidateRealImages(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "data", "images")
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	svc, err := New(Options{Store: nopStore{}, Embedder: &fakeEmbedder{id: "x"}, MaxPixels: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	dog, cat := read("dog.jpg"), read("cat.jpg")
	good := []dataset.Example{
		{Label: "dog", Name: "dog.jpg", Data: dog},
		{Label: "cat", Name: "cat.jpg", Data: cat},
		{Label: "cat", Name: "kitten_224.png", Data: read("kitten_224.png")},
		{Label: "bird", Name: "hummingbird.jpg", Data: read("hummingbird.jpg")},
	}
	if err := Validate(context.Background(), good, svc.o.Decode); err != nil {
		t.Fatalf("Validate(reference images) = %v", err)
	}
	bad := append(good[:2:2],
		dataset.Example{Label: "dog", Name: "half.jpg", Data: dog[:len(dog)/2]},
		dataset.Example{Label: "cat", Name: "header-only.jpg", Data: cat[:64]},
	)
	err = Validate(context.Background(), bad, svc.o.Decode)
	var ife *InvalidFilesError
	if !errors.As(err, &ife) || len(ife.Files) != 2 || ife.Files[0].Name != "half.jpg" || ife.Files[1].Name != "header-only.jpg" {
		t.Fatalf("Validate(damaged) = %v", err)
	}
	for _, f := range ife.Files {
		if !errors.Is(f.Err, imageprep.ErrCorrupt) {
			t.Errorf("%s: %v, want imageprep.ErrCorrupt", f.Name, f.Err)
		}
	}
}

// TestValidatePixelLimit checks that the default decoder applies
// Options.MaxPixels.
func TestValidatePixelLimit(t *testing.T) {
	img := pngOf(t, "cat", 1) // 8x8
	for _, tt := range []struct {
		max  int
		want error
	}{{64, nil}, {63, imageprep.ErrTooLarge}} {
		svc, err := New(Options{Store: nopStore{}, Embedder: &fakeEmbedder{id: "x"}, MaxPixels: tt.max})
		if err != nil {
			t.Fatal(err)
		}
		err = Validate(context.Background(), []dataset.Example{{Label: "cat", Name: "a.png", Data: img}}, svc.o.Decode)
		var ife *InvalidFilesError
		switch {
		case tt.want == nil && err != nil:
			t.Fatalf("MaxPixels %d: %v", tt.max, err)
		case tt.want != nil && (!errors.As(err, &ife) || !errors.Is(ife.Files[0].Err, tt.want)):
			t.Fatalf("MaxPixels %d: %v, want %v", tt.max, err, tt.want)
		}
	}
}

// nopStore is a Store for tests that never reach it.
type nopStore struct{ Store }

// BenchmarkValidate decodes the four reference photos per op, with one
// and with all available procs.
func BenchmarkValidate(b *testing.B) {
	dir := filepath.Join(sharedDir(b), "data", "images")
	var ex []dataset.Example
	for _, n := range []string{"dog.jpg", "cat.jpg", "kitten_224.png", "hummingbird.jpg"} {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			b.Fatal(err)
		}
		ex = append(ex, dataset.Example{Label: "x", Name: n, Data: data})
	}
	svc, err := New(Options{Store: nopStore{}, Embedder: &fakeEmbedder{id: "x"}})
	if err != nil {
		b.Fatal(err)
	}
	for _, procs := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("procs=%d", procs), func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			b.ReportAllocs()
			for b.Loop() {
				if err := Validate(context.Background(), ex, svc.o.Decode); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
