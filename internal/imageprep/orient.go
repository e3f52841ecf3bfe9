package imageprep

import (
	"image"
	"image/color"
)

// orientMap maps a destination pixel (x, y) of an upright image to the
// source pixel (sx, sy) of the stored image, for a stored image of size
// w x h: sx = x0 + xx*x + xy*y and sy = y0 + yx*x + yy*y, where x0 and y0
// are 0 or w-1 and h-1.
type orientMap struct {
	x0w, x0h int // x0 = x0w*(w-1) + x0h*(h-1)
	xx, xy   int
	y0w, y0h int
	yx, yy   int
	swap     bool // The upright image is h x w.
}

// orientMaps is indexed by the EXIF orientation value (1 to 8).
var orientMaps = [9]orientMap{
	1: {xx: 1, yy: 1},
	2: {x0w: 1, xx: -1, yy: 1},                      // Mirrored left to right.
	3: {x0w: 1, xx: -1, y0h: 1, yy: -1},             // Rotated 180°.
	4: {xx: 1, y0h: 1, yy: -1},                      // Mirrored top to bottom.
	5: {xy: 1, yx: 1, swap: true},                   // Transposed.
	6: {xy: 1, y0h: 1, yx: -1, swap: true},          // Needs 90° clockwise.
	7: {x0w: 1, xy: -1, y0h: 1, yx: -1, swap: true}, // Transversed.
	8: {x0w: 1, xy: -1, yx: 1, swap: true},          // Needs 90° anticlockwise.
}

// orient returns img turned upright for EXIF orientation o. For o == 1 or
// an invalid o it returns img itself. The result is a new image whose
// bounds start at (0, 0): *image.Gray and *image.CMYK keep their type,
// *image.YCbCr becomes *image.RGBA (converted with color.YCbCrToRGB, as
// Preprocess converts it) and anything else becomes *image.RGBA64.
func orient(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	m := orientMaps[o]
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	dw, dh := w, h
	if m.swap {
		dw, dh = h, w
	}
	x0 := m.x0w*(w-1) + m.x0h*(h-1)
	y0 := m.y0w*(w-1) + m.y0h*(h-1)
	// src returns the source pixel, relative to r.Min, of upright pixel (x, y).
	src := func(x, y int) (int, int) {
		return x0 + m.xx*x + m.xy*y, y0 + m.yx*x + m.yy*y
	}
	dr := image.Rect(0, 0, dw, dh)
	switch s := img.(type) {
	case *image.Gray:
		d := image.NewGray(dr)
		copyPixels(d.Pix, d.Stride, s.Pix, s.Stride, 1, dw, dh, src)
		return d
	case *image.CMYK:
		d := image.NewCMYK(dr)
		copyPixels(d.Pix, d.Stride, s.Pix, s.Stride, 4, dw, dh, src)
		return d
	case *image.YCbCr:
		d := image.NewRGBA(dr)
		for y := range dh {
			for x := range dw {
				sx, sy := src(x, y)
				sx, sy = sx+r.Min.X, sy+r.Min.Y
				yi, ci := s.YOffset(sx, sy), s.COffset(sx, sy)
				cr, cg, cb := color.YCbCrToRGB(s.Y[yi], s.Cb[ci], s.Cr[ci])
				i := d.PixOffset(x, y)
				p := d.Pix[i : i+4 : i+4]
				p[0], p[1], p[2], p[3] = cr, cg, cb, 0xff
			}
		}
		return d
	default:
		d := image.NewRGBA64(dr)
		for y := range dh {
			for x := range dw {
				sx, sy := src(x, y)
				d.Set(x, y, img.At(sx+r.Min.X, sy+r.Min.Y))
			}
		}
		return d
	}
}

// copyPixels copies pixels of bpp bytes from a source Pix slice, whose
// first byte is the pixel at the bounds' Min, into a destination of size
// dw x dh, pixel (x, y) coming from src(x, y).
func copyPixels(dst []byte, dstStride int, s []byte, srcStride, bpp, dw, dh int, src func(x, y int) (int, int)) {
	for y := range dh {
		row := dst[y*dstStride : y*dstStride+dw*bpp]
		for x := range dw {
			sx, sy := src(x, y)
			si := sy*srcStride + sx*bpp
			copy(row[x*bpp:x*bpp+bpp], s[si:si+bpp])
		}
	}
}
