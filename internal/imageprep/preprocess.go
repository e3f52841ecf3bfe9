package imageprep

import (
	"image"
	"image/color"
)

// Preprocessor applies a Spec with scratch buffers that are reused from
// call to call, so that preprocessing images of one size allocates nothing
// after the first call. A Preprocessor is not safe for concurrent use; keep
// one per worker.
type Preprocessor struct {
	spec   Spec
	chans  [3]int // chans[c] is the RGB index of output channel c.
	xw, yw axisWeights
	row    []float32 // One source row, 3 values per pixel.
	ring   []float32 // Horizontally filtered source rows, a ring of yw.taps.
	acc    []float32 // One output row, 3*InputSize values.
	pal    []float32 // The palette of an *image.Paletted, 3 values per entry.
}

// NewPreprocessor returns a Preprocessor for s. Returns an error wrapping
// ErrInvalidSpec when s is invalid.
func NewPreprocessor(s Spec) (*Preprocessor, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	p := &Preprocessor{spec: s, chans: [3]int{0, 1, 2}}
	if s.ChannelOrder == BGR {
		p.chans = [3]int{2, 1, 0}
	}
	return p, nil
}

// Spec returns the Spec p applies.
func (p *Preprocessor) Spec() Spec { return p.spec }

// Preprocess writes img as the first p.Spec().Len() values of dst, as
// described on Spec. It panics if dst is too short or img has no pixels.
func (p *Preprocessor) Preprocess(dst []float32, img image.Image) {
	s := p.spec
	n := s.InputSize
	if len(dst) < s.Len() {
		panic("imageprep: dst too short")
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		panic("imageprep: empty image")
	}
	rw, rh := resizedSize(w, h, s)
	p.xw.compute(w, rw, cropOffset(rw, n), n)
	p.yw.compute(h, rh, cropOffset(rh, n), n)

	if m, ok := img.(*image.Paletted); ok {
		p.preparePalette(m.Palette)
	}
	p.row = resize(p.row, 3*(p.xw.hi-p.xw.lo))
	stride := 3 * n
	ringRows := p.yw.taps
	p.ring = resize(p.ring, ringRows*stride)
	p.acc = resize(p.acc, stride)
	next := p.yw.lo // The next source row to filter into the ring.
	for oy := range n {
		first := p.yw.lo + p.yw.start[oy]
		count := p.yw.count[oy]
		next = max(next, first)
		for ; next < first+count; next++ {
			p.readRow(p.row, img, b.Min.X+p.xw.lo, b.Min.Y+next)
			slot := next % ringRows
			p.filterRow(p.ring[slot*stride:(slot+1)*stride], p.row)
		}
		acc := p.acc[:stride:stride]
		clear(acc)
		ws := p.yw.w[oy*p.yw.taps : oy*p.yw.taps+count]
		for k, wk := range ws {
			slot := (first + k) % ringRows
			r := p.ring[slot*stride : (slot+1)*stride]
			r = r[:len(acc)]
			for j, v := range r {
				acc[j] += wk * v
			}
		}
		p.store(dst, oy, acc)
	}
}

// filterRow resamples one source row horizontally into dst, 3 values per
// output pixel.
func (p *Preprocessor) filterRow(dst, row []float32) {
	a := &p.xw
	for ox := range len(dst) / 3 {
		ws := a.w[ox*a.taps : ox*a.taps+a.count[ox]]
		px := row[3*a.start[ox] : 3*(a.start[ox]+len(ws))]
		var r, g, b float32
		for k, wk := range ws {
			q := px[3*k : 3*k+3 : 3*k+3]
			r += wk * q[0]
			g += wk * q[1]
			b += wk * q[2]
		}
		d := dst[3*ox : 3*ox+3 : 3*ox+3]
		d[0], d[1], d[2] = r, g, b
	}
}

// store normalises output row oy, 3 RGB values per pixel in acc, into dst.
func (p *Preprocessor) store(dst []float32, oy int, acc []float32) {
	s := &p.spec
	n := s.InputSize
	for c := range 3 {
		src := p.chans[c]
		scale, mean, std := s.Scale, s.Mean[c], s.Std[c]
		if s.Layout == NCHW {
			out := dst[(c*n+oy)*n : (c*n+oy+1)*n]
			for ox := range out {
				out[ox] = (acc[3*ox+src]*scale - mean) / std
			}
			continue
		}
		out := dst[oy*n*3 : (oy+1)*n*3]
		for ox := range n {
			out[3*ox+c] = (acc[3*ox+src]*scale - mean) / std
		}
	}
}

// resizedSize returns the size the image is resized to before cropping,
// computed as torchvision does: the shorter side becomes the target and the
// longer one is scaled in proportion, rounded down.
func resizedSize(w, h int, s Spec) (int, int) {
	target := s.Resize
	if target == 0 {
		if min(w, h) >= s.InputSize {
			return w, h
		}
		target = s.InputSize
	}
	if w <= h {
		return target, int(int64(target) * int64(h) / int64(w))
	}
	return int(int64(target) * int64(w) / int64(h)), target
}

// cropOffset returns where a centred crop of n out of size starts:
// round((size-n)/2) with halves rounded to even, as Python's round in
// torchvision's CenterCrop.
func cropOffset(size, n int) int {
	d := size - n
	o := d / 2
	if d%2 == 1 && o%2 == 1 {
		o++
	}
	return o
}

// preparePalette converts a palette into p.pal, 3 straight RGB values per
// entry; indices beyond the palette read as black.
func (p *Preprocessor) preparePalette(pal color.Palette) {
	p.pal = resize(p.pal, 3*256)
	clear(p.pal)
	for i, c := range pal[:min(len(pal), 256)] {
		r, g, b, a := c.RGBA()
		p.pal[3*i], p.pal[3*i+1], p.pal[3*i+2] = unpremul16(r, a), unpremul16(g, a), unpremul16(b, a)
	}
}

// readRow writes the straight RGB values, 0..255, of the pixels x0, x0+1,
// ... of row y of img into dst, 3 values each. Alpha is dropped: the
// colour of non-premultiplied types is used as stored and premultiplied
// colour is divided by alpha first. The type switch runs once per row, so
// the per-pixel loops are concrete and nothing is allocated.
func (p *Preprocessor) readRow(dst []float32, img image.Image, x0, y int) {
	switch m := img.(type) {
	case *image.YCbCr:
		readYCbCr(dst, m, x0, y)
	case *image.NYCbCrA:
		readYCbCr(dst, &m.YCbCr, x0, y)
	case *image.RGBA:
		pix := m.Pix[m.PixOffset(x0, y):]
		for i := range len(dst) / 3 {
			q := pix[4*i : 4*i+4 : 4*i+4]
			d := dst[3*i : 3*i+3 : 3*i+3]
			if a := q[3]; a != 0xff {
				d[0], d[1], d[2] = unpremul8(q[0], a), unpremul8(q[1], a), unpremul8(q[2], a)
				continue
			}
			d[0], d[1], d[2] = float32(q[0]), float32(q[1]), float32(q[2])
		}
	case *image.NRGBA:
		pix := m.Pix[m.PixOffset(x0, y):]
		for i := range len(dst) / 3 {
			q := pix[4*i : 4*i+3 : 4*i+3]
			d := dst[3*i : 3*i+3 : 3*i+3]
			d[0], d[1], d[2] = float32(q[0]), float32(q[1]), float32(q[2])
		}
	case *image.Gray:
		pix := m.Pix[m.PixOffset(x0, y):]
		for i := range len(dst) / 3 {
			v := float32(pix[i])
			d := dst[3*i : 3*i+3 : 3*i+3]
			d[0], d[1], d[2] = v, v, v
		}
	case *image.Paletted:
		pal := p.pal[: 3*256 : 3*256]
		pix := m.Pix[m.PixOffset(x0, y):]
		for i := range len(dst) / 3 {
			k := 3 * int(pix[i])
			q := pal[k : k+3 : k+3]
			d := dst[3*i : 3*i+3 : 3*i+3]
			d[0], d[1], d[2] = q[0], q[1], q[2]
		}
	case image.RGBA64Image:
		for i := range len(dst) / 3 {
			c := m.RGBA64At(x0+i, y)
			d := dst[3*i : 3*i+3 : 3*i+3]
			a := uint32(c.A)
			d[0], d[1], d[2] = unpremul16(uint32(c.R), a), unpremul16(uint32(c.G), a), unpremul16(uint32(c.B), a)
		}
	default:
		for i := range len(dst) / 3 {
			r, g, b, a := img.At(x0+i, y).RGBA()
			d := dst[3*i : 3*i+3 : 3*i+3]
			d[0], d[1], d[2] = unpremul16(r, a), unpremul16(g, a), unpremul16(b, a)
		}
	}
}

// readYCbCr converts with the arithmetic of color.YCbCrToRGB, the
// conversion image/draw and color.RGBAModel use, so the values equal those
// of the image drawn onto an *image.RGBA. ycbcrToRGB is checked against
// color.YCbCrToRGB on every input by TestYCbCrToRGBExhaustive.
func readYCbCr(dst []float32, m *image.YCbCr, x0, y int) {
	n := len(dst) / 3
	yrow := m.Y[m.YOffset(x0, y):]
	yrow = yrow[:n:n]
	hs, vs, ok := chromaShifts(m.SubsampleRatio)
	if !ok || m.Rect.Min.X < 0 || m.Rect.Min.Y < 0 {
		// Shifts would round negative coordinates differently from
		// COffset's division; unknown ratios have no shifts.
		for i, yv := range yrow {
			ci := m.COffset(x0+i, y)
			r, g, b := ycbcrToRGB(yv, m.Cb[ci], m.Cr[ci])
			d := dst[3*i : 3*i+3 : 3*i+3]
			d[0], d[1], d[2] = r, g, b
		}
		return
	}
	base := (y>>vs-m.Rect.Min.Y>>vs)*m.CStride - m.Rect.Min.X>>hs
	last := base + (x0+n-1)>>hs + 1
	cb, cr := m.Cb[:last:last], m.Cr[:last:last]
	for i, yv := range yrow {
		ci := base + (x0+i)>>hs
		r, g, b := ycbcrToRGB(yv, cb[ci], cr[ci])
		d := dst[3*i : 3*i+3 : 3*i+3]
		d[0], d[1], d[2] = r, g, b
	}
}

// chromaShifts returns the horizontal and vertical log2 subsampling of a
// ratio.
func chromaShifts(r image.YCbCrSubsampleRatio) (h, v int, ok bool) {
	switch r {
	case image.YCbCrSubsampleRatio444:
		return 0, 0, true
	case image.YCbCrSubsampleRatio422:
		return 1, 0, true
	case image.YCbCrSubsampleRatio420:
		return 1, 1, true
	case image.YCbCrSubsampleRatio440:
		return 0, 1, true
	case image.YCbCrSubsampleRatio411:
		return 2, 0, true
	case image.YCbCrSubsampleRatio410:
		return 2, 1, true
	}
	return 0, 0, false
}

// ycbcrToRGB is JFIF's YCbCr to RGB conversion in 16.16 fixed point with
// the rounding of color.YCbCrToRGB, written out so that it inlines.
func ycbcrToRGB(y, cb, cr uint8) (r, g, b float32) {
	y1 := int32(y) * 0x10101 // y * 65793, y/255 scaled by 2^24.
	cb1 := int32(cb) - 128
	cr1 := int32(cr) - 128
	return clamp16(y1 + 91881*cr1), clamp16(y1 - 22554*cb1 - 46802*cr1), clamp16(y1 + 116130*cb1)
}

// clamp16 returns v>>16 clamped to 0..255.
func clamp16(v int32) float32 {
	return float32(min(max(v>>16, 0), 255))
}

// unpremul16 returns the straight value, 0..255, of a 16-bit
// alpha-premultiplied channel value c with alpha a, as color.NRGBA64Model
// computes it.
func unpremul16(c, a uint32) float32 {
	switch a {
	case 0xffff:
	case 0:
		c = 0
	default:
		c = c * 0xffff / a
	}
	return float32(c) / 257
}

// unpremul8 is unpremul16 for 8-bit values: the factors 0x101 of the
// 16-bit forms cancel in the division.
func unpremul8(c, a uint8) float32 {
	if a == 0 {
		return 0
	}
	return float32(uint32(c)*0xffff/uint32(a)) / 257
}
