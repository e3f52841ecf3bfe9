package imageprep

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"testing"
)

// TestOrient checks orient on each concrete type it special-cases and on
// the generic path against unorient, built from the EXIF definitions.
func TestOrient(t *testing.T) {
	upright := randomRGBA(5, 3, 0, 0, 4)
	for o := 1; o <= 8; o++ {
		stored := unorient(upright, o)
		// Give the stored image non-zero bounds to catch offset mistakes.
		shifted := image.NewRGBA(stored.Bounds().Add(image.Pt(3, -2)))
		draw.Draw(shifted, shifted.Bounds(), stored, stored.Bounds().Min, draw.Src)
		gray := image.NewGray(shifted.Bounds())
		draw.Draw(gray, gray.Bounds(), shifted, gray.Bounds().Min, draw.Src)
		cmyk := image.NewCMYK(shifted.Bounds())
		draw.Draw(cmyk, cmyk.Bounds(), shifted, cmyk.Bounds().Min, draw.Src)
		ycc := image.NewYCbCr(shifted.Bounds(), image.YCbCrSubsampleRatio444)
		for y := ycc.Rect.Min.Y; y < ycc.Rect.Max.Y; y++ {
			for x := ycc.Rect.Min.X; x < ycc.Rect.Max.X; x++ {
				c := shifted.RGBAAt(x, y)
				yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
				ycc.Y[ycc.YOffset(x, y)], ycc.Cb[ycc.COffset(x, y)], ycc.Cr[ycc.COffset(x, y)] = yy, cb, cr
			}
		}
		images := []image.Image{shifted, gray, cmyk, ycc}
		for _, src := range images {
			t.Run(fmt.Sprintf("%d/%T", o, src), func(t *testing.T) {
				got := orient(src, o)
				if o == 1 {
					if got != src {
						t.Fatal("orientation 1 did not return the image itself")
					}
					return
				}
				if got.Bounds() != image.Rect(0, 0, 5, 3) {
					t.Fatalf("bounds %v, want 5x3 at the origin", got.Bounds())
				}
				origin := src.Bounds().Min
				for y := range 3 {
					for x := range 5 {
						sx, sy := storedPoint(o, x, y, 5, 3)
						want := rgba8At(src, sx+origin.X, sy+origin.Y)
						if g := rgba8At(got, x, y); g != want {
							t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, g, want)
						}
					}
				}
			})
		}
	}
}

// rgba8At returns the colour at (x, y) in 8 bits per channel, converting
// *image.YCbCr with color.YCbCrToRGB as the package does.
func rgba8At(m image.Image, x, y int) color.RGBA {
	if ycc, ok := m.(*image.YCbCr); ok {
		c := ycc.YCbCrAt(x, y)
		r, g, b := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
		return color.RGBA{r, g, b, 0xff}
	}
	return color.RGBAModel.Convert(m.At(x, y)).(color.RGBA)
}

// storedPoint returns the stored pixel displayed at upright (x, y) of a
// w x h upright image, by searching unorient's definition.
func storedPoint(o, x, y, w, h int) (int, int) {
	probe := image.NewRGBA(image.Rect(0, 0, w, h))
	probe.Set(x, y, color.RGBA{1, 0, 0, 255})
	s := unorient(probe, o)
	for sy := range s.Bounds().Dy() {
		for sx := range s.Bounds().Dx() {
			if s.RGBAAt(sx, sy).R == 1 {
				return sx, sy
			}
		}
	}
	panic("probe lost")
}
