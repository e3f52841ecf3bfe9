package imageprep

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tlserve/tlserve/internal/refdata"
)

// FuzzDecode checks that Decode never panics, that it only fails with the
// package's sentinel errors, and that what it returns respects the pixel
// limit and can be preprocessed. Seeds are the images under testdata and,
// when present, the shared reference images.
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "seed.*"))
	if shared, err := refdata.Shared(); err == nil {
		more, _ := filepath.Glob(filepath.Join(shared, "data", "images", "*"))
		seeds = append(seeds, more...)
	}
	for _, path := range seeds {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(pngHeader(50000, 50000))
	f.Add(jpegHeader(50000, 50000))
	f.Add(withExif(jpegHeader(8, 8), 6, false))
	const maxPixels = 1 << 20 // Keeps each run fast.
	p, err := NewPreprocessor(rawSpec(7, 9))
	if err != nil {
		f.Fatal(err)
	}
	dst := make([]float32, p.Spec().Len())
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := Decode(b, DecodeOptions{MaxPixels: maxPixels})
		if err != nil {
			if img != nil {
				t.Fatal("image returned with an error")
			}
			for _, s := range []error{ErrEmpty, ErrUnsupportedFormat, ErrTooLarge, ErrCorrupt} {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error %v wraps no sentinel", err)
		}
		r := img.Bounds()
		if r.Dx() <= 0 || r.Dy() <= 0 || r.Dx()*r.Dy() > maxPixels {
			t.Fatalf("decoded bounds %v outside the limit", r)
		}
		p.Preprocess(dst, img)
	})
}
