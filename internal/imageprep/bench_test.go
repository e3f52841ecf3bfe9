package imageprep

import (
	"fmt"
	"image"
	"testing"

	"github.com/tlserve/tlserve/internal/refdata"
)

// BenchmarkPreprocess measures the torchvision preprocessing of the shared
// dog.jpg (1080x1080 JPEG) with a reused Preprocessor, with Spec.Preprocess
// allocating its scratch, and of generated images of several sizes and
// types.
func BenchmarkPreprocess(b *testing.B) {
	s := TorchvisionSpec()
	dst := make([]float32, s.Len())
	b.Run("dog.jpg/Preprocessor", func(b *testing.B) {
		img := benchDog(b)
		p, err := NewPreprocessor(s)
		if err != nil {
			b.Fatal(err)
		}
		p.Preprocess(dst, img) // Grows the scratch outside the measurement.
		b.ReportAllocs()
		for b.Loop() {
			p.Preprocess(dst, img)
		}
	})
	b.Run("dog.jpg/Spec", func(b *testing.B) {
		img := benchDog(b)
		b.ReportAllocs()
		for b.Loop() {
			s.Preprocess(dst, img)
		}
	})
	for _, n := range []int{256, 1024, 4096} {
		r := image.Rect(0, 0, n, n*3/4)
		for _, img := range []image.Image{image.NewYCbCr(r, image.YCbCrSubsampleRatio420), image.NewRGBA(r)} {
			b.Run(fmt.Sprintf("n=%d/%T", n, img), func(b *testing.B) {
				p, err := NewPreprocessor(s)
				if err != nil {
					b.Fatal(err)
				}
				p.Preprocess(dst, img)
				b.ReportAllocs()
				for b.Loop() {
					p.Preprocess(dst, img)
				}
			})
		}
	}
}

func benchDog(b *testing.B) image.Image {
	b.Helper()
	img, err := Decode(refdata.Image(b, "dog.jpg"), DecodeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return img
}

// BenchmarkDecode measures decoding the shared dog.jpg.
func BenchmarkDecode(b *testing.B) {
	data := refdata.Image(b, "dog.jpg")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data, DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
