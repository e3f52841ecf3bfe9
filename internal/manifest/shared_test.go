package manifest

import (
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/tlserve/tlserve/internal/imageprep"
	"github.com/tlserve/tlserve/internal/refdata"
)

func squeezeNet(t *testing.T) Manifest {
	t.Helper()
	m, err := ForModel(filepath.Join(refdata.Root(t), "models", "squeezenet1.1-fp16.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func decodeShared(t *testing.T, name string) image.Image {
	t.Helper()
	img, err := imageprep.Decode(refdata.Image(t, name), imageprep.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestFishExactBGR preprocesses the 224x224 fish.png with the SqueezeNet
// manifest's spec without resizing, and checks every value against the
// pixels read independently with image/png: BGR planes of 0..255.
func TestFishExactBGR(t *testing.T) {
	img := decodeShared(t, "fish.png")
	f, err := os.Open(refdata.ImagePath(t, "fish.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ref, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	s := squeezeNet(t).Spec()
	s.Resize = 0
	dst := make([]float32, s.Len())
	s.Preprocess(dst, img)
	const n = 224
	if ref.Bounds() != image.Rect(0, 0, n, n) {
		t.Fatalf("fish.png is %v, want 224x224", ref.Bounds())
	}
	for y := range n {
		for x := range n {
			r, g, b, _ := ref.At(x, y).RGBA()
			want := [3]float32{float32(b >> 8), float32(g >> 8), float32(r >> 8)}
			for c := range 3 {
				if got := dst[(c*n+y)*n+x]; got != want[c] {
					t.Fatalf("channel %d pixel (%d,%d) = %v, want %v", c, x, y, got, want[c])
				}
			}
		}
	}
}

// TestDogTensor preprocesses the 1080x1080 dog.jpg with the SqueezeNet
// manifest and checks the tensor's size and statistics: BGR 0..255 values
// of a photograph, not constant, not saturated.
func TestDogTensor(t *testing.T) {
	img := decodeShared(t, "dog.jpg")
	s := squeezeNet(t).Spec()
	if s.Len() != 3*224*224 || s.Shape() != [4]int{1, 3, 224, 224} {
		t.Fatalf("Len %d Shape %v, want 150528 and [1 3 224 224]", s.Len(), s.Shape())
	}
	dst := make([]float32, s.Len()+1)
	dst[s.Len()] = -1
	s.Preprocess(dst, img)
	if dst[s.Len()] != -1 {
		t.Fatal("Preprocess wrote past Len")
	}
	n := 224 * 224
	for c := range 3 {
		var sum, sq float64
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range dst[c*n : (c+1)*n] {
			f := float64(v)
			sum += f
			sq += f * f
			lo, hi = math.Min(lo, f), math.Max(hi, f)
		}
		mean := sum / float64(n)
		std := math.Sqrt(sq/float64(n) - mean*mean)
		t.Logf("channel %d: min %.1f max %.1f mean %.1f std %.1f", c, lo, hi, mean, std)
		if lo < -1e-3 || hi > 255+1e-3 || mean < 20 || mean > 235 || std < 10 || hi-lo < 100 {
			t.Errorf("channel %d: min %.1f max %.1f mean %.1f std %.1f not those of a photograph in 0..255", c, lo, hi, mean, std)
		}
	}
}
