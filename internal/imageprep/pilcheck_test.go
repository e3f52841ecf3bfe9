//go:build pilcheck

package imageprep

import (
	"encoding/binary"
	"image"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/tlserve/tlserve/internal/refdata"
)

// TestPILDump writes three crops of the shared dog.jpg as PNG files and
// their tensors under the raw spec (RGB, 0..255, resize 256, crop 224) as
// little-endian float32 files into $PILCHECK_DIR, for testdata/pilcheck.py
// to compare with PIL's antialiased bilinear resize. It is behind the
// pilcheck build tag because the comparison needs Python and Pillow:
//
//	PILCHECK_DIR=/tmp go test -tags pilcheck -run TestPILDump . && python3 testdata/pilcheck.py /tmp
func TestPILDump(t *testing.T) {
	dir := os.Getenv("PILCHECK_DIR")
	if dir == "" {
		t.Skip("set PILCHECK_DIR")
	}
	img, err := Decode(refdata.Image(t, "dog.jpg"), DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	crops := map[string]image.Rectangle{
		"square": image.Rect(0, 0, 1080, 1080),
		"wide":   image.Rect(13, 100, 1013, 850),
		"small":  image.Rect(400, 300, 590, 470), // Enlarged to 256.
	}
	for name, r := range crops {
		rgba := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
		draw.Draw(rgba, rgba.Bounds(), img, r.Min, draw.Src)
		f, err := os.Create(filepath.Join(dir, "pil_"+name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, rgba); err != nil {
			t.Fatal(err)
		}
		f.Close()
		s := rawSpec(224, 256)
		dst := make([]float32, s.Len())
		s.Preprocess(dst, rgba)
		b := make([]byte, 4*len(dst))
		for i, v := range dst {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		if err := os.WriteFile(filepath.Join(dir, "pil_"+name+".f32"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
