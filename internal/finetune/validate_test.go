package finetune

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/tlserve/tlserve/internal/dataset"
	"github.com/tlserve/tlserve/internal/imageprep"
	"github.com/tlserve/tlserve/internal/refdata"
)

// TestValidateRealImages runs the default decoder (imageprep.Decode) over
// the reference photos and damaged copies of them.
func TestValidateRealImages(t *testing.T) {
	read := func(name string) []byte {
		t.Helper()
		return refdata.Image(t, name)
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
	var ex []dataset.Example
	for _, n := range []string{"dog.jpg", "cat.jpg", "kitten_224.png", "hummingbird.jpg"} {
		ex = append(ex, dataset.Example{Label: "x", Name: n, Data: refdata.Image(b, n)})
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
