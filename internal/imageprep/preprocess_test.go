package imageprep

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"testing"

	"github.com/tlserve/tlserve/internal/refdata"
)

// rawSpec returns a spec that writes the 0..255 values unchanged.
func rawSpec(inputSize, resize int) Spec {
	return Spec{InputSize: inputSize, Resize: resize, ChannelOrder: RGB, Scale: 1, Std: [3]float32{1, 1, 1}, Layout: NCHW}
}

// rgbImage returns an RGBA image whose pixels are the given RGB triples,
// row by row.
func rgbImage(w, h int, px ...[3]uint8) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i, p := range px {
		m.SetRGBA(i%w, i/w, color.RGBA{p[0], p[1], p[2], 255})
	}
	return m
}

// TestPreprocessByHand checks small cases worked out on paper.
func TestPreprocessByHand(t *testing.T) {
	square := rgbImage(2, 2, [3]uint8{10, 20, 30}, [3]uint8{40, 50, 60}, [3]uint8{70, 80, 90}, [3]uint8{100, 110, 120})
	// Each row is 0, 70, 140, 210 in all channels.
	ramp := image.NewGray(image.Rect(0, 0, 4, 4))
	for i := range ramp.Pix {
		ramp.Pix[i] = uint8(70 * (i % 4))
	}
	// Rows 0, 100 of a 2x2 grey image.
	small := image.NewGray(image.Rect(0, 0, 2, 2))
	copy(small.Pix, []uint8{0, 100, 0, 100})
	// A 5x3 image whose columns are 0..4 in red; cropping 3 takes columns 1..3.
	wide := image.NewRGBA(image.Rect(0, 0, 5, 3))
	for y := range 3 {
		for x := range 5 {
			wide.SetRGBA(x, y, color.RGBA{uint8(x), 0, 0, 255})
		}
	}
	bgr := rawSpec(2, 0)
	bgr.ChannelOrder = BGR
	nhwc := rawSpec(2, 0)
	nhwc.Layout = NHWC
	norm := rawSpec(2, 0)
	norm.Scale, norm.Mean, norm.Std = 0.5, [3]float32{10, 20, 30}, [3]float32{4, 2, 0.5}
	tests := []struct {
		name string
		spec Spec
		img  image.Image
		want []float32
	}{
		{"2x2 copied, NCHW", rawSpec(2, 0), square, []float32{10, 40, 70, 100, 20, 50, 80, 110, 30, 60, 90, 120}},
		{"2x2 BGR", bgr, square, []float32{30, 60, 90, 120, 20, 50, 80, 110, 10, 40, 70, 100}},
		{"2x2 NHWC", nhwc, square, []float32{10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120}},
		// (v*0.5 - mean) / std per channel.
		{"2x2 mean and std", norm, square, []float32{
			(5 - 10) / 4.0, (20 - 10) / 4.0, (35 - 10) / 4.0, (50 - 10) / 4.0,
			(10 - 20) / 2.0, (25 - 20) / 2.0, (40 - 20) / 2.0, (55 - 20) / 2.0,
			(15 - 30) / 0.5, (30 - 30) / 0.5, (45 - 30) / 0.5, (60 - 30) / 0.5}},
		{"2x2 crop to 1 takes the top left", rawSpec(1, 0), square, []float32{10, 20, 30}},
		// Halving: the triangle of radius 2 around 1.0 gives samples at
		// 0.5 and 1.5 equal weights.
		{"2x2 averaged to 1x1", rawSpec(1, 1), square, []float32{55, 65, 75}},
		// Halving 4 samples: weights 3/7, 3/7, 1/7 on samples 0..2 and
		// 1/7, 3/7, 3/7 on samples 1..3.
		{"4x4 ramp halved", rawSpec(2, 2), ramp, []float32{50, 160, 50, 160, 50, 160, 50, 160, 50, 160, 50, 160}},
		// Doubling interpolates linearly between sample centres and holds
		// the edge values.
		{"2x2 doubled", rawSpec(4, 0), small, []float32{0, 25, 75, 100, 0, 25, 75, 100, 0, 25, 75, 100, 0, 25, 75, 100,
			0, 25, 75, 100, 0, 25, 75, 100, 0, 25, 75, 100, 0, 25, 75, 100,
			0, 25, 75, 100, 0, 25, 75, 100, 0, 25, 75, 100, 0, 25, 75, 100}},
		{"5x3 centre crop", rawSpec(3, 0), wide, []float32{1, 2, 3, 1, 2, 3, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make([]float32, len(tt.want)+2)
			got[len(tt.want)], got[len(tt.want)+1] = -7, -7
			tt.spec.Preprocess(got, tt.img)
			for i, w := range tt.want {
				if math.Abs(float64(got[i]-w)) > 1e-4 {
					t.Fatalf("value %d = %v, want %v\ngot  %v\nwant %v", i, got[i], w, got[:len(tt.want)], tt.want)
				}
			}
			if got[len(tt.want)] != -7 || got[len(tt.want)+1] != -7 {
				t.Errorf("wrote past Len: %v", got[len(tt.want):])
			}
		})
	}
}

func TestCropOffset(t *testing.T) {
	tests := []struct{ size, n, want int }{
		{224, 224, 0},
		{225, 224, 0}, // round(0.5) = 0
		{226, 224, 1},
		{227, 224, 2}, // round(1.5) = 2
		{229, 224, 2}, // round(2.5) = 2
		{231, 224, 4}, // round(3.5) = 4
		{256, 224, 16},
		{341, 224, 58}, // round(58.5) = 58
	}
	for _, tt := range tests {
		if got := cropOffset(tt.size, tt.n); got != tt.want {
			t.Errorf("cropOffset(%d, %d) = %d, want %d", tt.size, tt.n, got, tt.want)
		}
	}
}

func TestResizedSize(t *testing.T) {
	tests := []struct {
		w, h, input, resize int
		rw, rh              int
	}{
		{1080, 1080, 224, 256, 256, 256},
		{1000, 750, 224, 256, 341, 256}, // int(256*1000/750) = 341
		{750, 1000, 224, 256, 256, 341},
		{300, 224, 224, 0, 300, 224},
		{500, 400, 224, 0, 500, 400},
		{100, 50, 224, 0, 448, 224}, // Too small: enlarged.
		{3, 40000, 224, 256, 256, 3413333},
	}
	for _, tt := range tests {
		rw, rh := resizedSize(tt.w, tt.h, Spec{InputSize: tt.input, Resize: tt.resize})
		if rw != tt.rw || rh != tt.rh {
			t.Errorf("resizedSize(%d, %d, input %d, resize %d) = %d, %d, want %d, %d", tt.w, tt.h, tt.input, tt.resize, rw, rh, tt.rw, tt.rh)
		}
	}
}

// naiveWeights returns the normalised triangle weights of every source
// sample for output i of a resize from in to out samples, straight from
// the definition: no windows, no trimming, float64.
func naiveWeights(in, out, i int) []float64 {
	w := make([]float64, in)
	if in == out {
		w[i] = 1
		return w
	}
	scale := float64(in) / float64(out)
	radius := math.Max(scale, 1)
	center := (float64(i) + 0.5) * scale
	var sum float64
	for x := range in {
		w[x] = math.Max(0, 1-math.Abs(float64(x)+0.5-center)/radius)
		sum += w[x]
	}
	for x := range w {
		w[x] /= sum
	}
	return w
}

// naivePreprocess resizes the whole image with naiveWeights in two
// dimensions at once, crops the result and normalises it, using
// color.NRGBA64Model for the colours.
func naivePreprocess(s Spec, img image.Image) []float64 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	rw, rh := resizedSize(w, h, s)
	n := s.InputSize
	left, top := cropOffset(rw, n), cropOffset(rh, n)
	out := make([]float64, 3*n*n)
	for oy := range n {
		wy := naiveWeights(h, rh, top+oy)
		for ox := range n {
			wx := naiveWeights(w, rw, left+ox)
			var rgb [3]float64
			for y := range h {
				for x := range w {
					k := wx[x] * wy[y]
					if k == 0 {
						continue
					}
					c := color.NRGBA64Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
					rgb[0] += k * float64(c.R) / 257
					rgb[1] += k * float64(c.G) / 257
					rgb[2] += k * float64(c.B) / 257
				}
			}
			for c := range 3 {
				src := c
				if s.ChannelOrder == BGR {
					src = 2 - c
				}
				v := (rgb[src]*float64(s.Scale) - float64(s.Mean[c])) / float64(s.Std[c])
				if s.Layout == NCHW {
					out[(c*n+oy)*n+ox] = v
				} else {
					out[(oy*n+ox)*3+c] = v
				}
			}
		}
	}
	return out
}

// TestPreprocessMatchesNaive compares Preprocess with naivePreprocess on
// random images of many shapes, with guard bands around dst.
func TestPreprocessMatchesNaive(t *testing.T) {
	norm := Spec{ChannelOrder: BGR, Scale: 1.0 / 255, Mean: [3]float32{0.4, 0.5, 0.6}, Std: [3]float32{0.2, 0.25, 0.3}, Layout: NHWC}
	tests := []struct {
		w, h          int
		input, resize int
		spec          Spec // Sizes are filled in.
	}{
		{40, 30, 8, 10, rawSpec(0, 0)},
		{30, 40, 8, 10, rawSpec(0, 0)},
		{37, 53, 11, 13, norm},
		{64, 64, 16, 0, rawSpec(0, 0)},  // Crop only.
		{20, 9, 12, 0, norm},            // Enlarged in both directions.
		{13, 17, 12, 12, rawSpec(0, 0)}, // Scale factor near 1.
		{101, 7, 5, 6, rawSpec(0, 0)},   // Very wide.
		{9, 60, 9, 9, norm},             // Tall, the short side already fits.
		{50, 45, 3, 45, rawSpec(0, 0)},  // Resize to the height: one axis identity.
		{3, 3, 10, 20, rawSpec(0, 0)},   // Tiny image, large upscale.
	}
	for i, tt := range tests {
		s := tt.spec
		s.InputSize, s.Resize = tt.input, tt.resize
		img := randomRGBA(tt.w, tt.h, 5-i, i*3, uint64(i))
		t.Run(fmt.Sprintf("%dx%d_to_%d_crop_%d", tt.w, tt.h, tt.resize, tt.input), func(t *testing.T) {
			want := naivePreprocess(s, img)
			const guard = 17
			buf := make([]float32, guard+s.Len()+guard)
			for i := range buf {
				buf[i] = float32(math.NaN())
			}
			s.Preprocess(buf[guard:], img)
			for i := range guard {
				if !math.IsNaN(float64(buf[i])) || !math.IsNaN(float64(buf[len(buf)-1-i])) {
					t.Fatal("guard band overwritten")
				}
			}
			tol := 2e-3 * float64(s.Scale) / float64(min(s.Std[0], s.Std[1], s.Std[2])) * 255 / 255
			for i, w := range want {
				if g := float64(buf[guard+i]); !(math.Abs(g-w) <= math.Max(tol, 1e-3)) {
					t.Fatalf("value %d = %v, want %v", i, g, w)
				}
			}
		})
	}
}

// TestConstantStaysConstant resizes constant images of each concrete type
// and checks every value is the constant.
func TestConstantStaysConstant(t *testing.T) {
	c := color.NRGBA{R: 200, G: 17, B: 99, A: 255}
	images := map[string]image.Image{}
	for _, size := range []image.Point{{300, 200}, {37, 91}, {5, 3}} {
		r := image.Rect(0, 0, size.X, size.Y)
		rgba, nrgba := image.NewRGBA(r), image.NewNRGBA(r)
		draw.Draw(rgba, r, image.NewUniform(c), image.Point{}, draw.Src)
		draw.Draw(nrgba, r, image.NewUniform(c), image.Point{}, draw.Src)
		gray := image.NewGray(r)
		draw.Draw(gray, r, image.NewUniform(color.Gray{Y: 131}), image.Point{}, draw.Src)
		ycc := image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
		for i := range ycc.Y {
			ycc.Y[i] = 90
		}
		for i := range ycc.Cb {
			ycc.Cb[i], ycc.Cr[i] = 140, 100
		}
		pal := image.NewPaletted(r, color.Palette{color.Black, c})
		for i := range pal.Pix {
			pal.Pix[i] = 1
		}
		name := fmt.Sprintf("%dx%d", size.X, size.Y)
		images[name+"/RGBA"], images[name+"/NRGBA"], images[name+"/Gray"] = rgba, nrgba, gray
		images[name+"/YCbCr"], images[name+"/Paletted"] = ycc, pal
	}
	for name, img := range images {
		for _, s := range []Spec{rawSpec(4, 17), rawSpec(4, 0), rawSpec(2, 2)} {
			t.Run(fmt.Sprintf("%s/resize_%d", name, s.Resize), func(t *testing.T) {
				want := make([]float32, 3)
				r, g, b, _ := color.NRGBA64Model.Convert(img.At(0, 0)).RGBA()
				want[0], want[1], want[2] = float32(r)/257, float32(g)/257, float32(b)/257
				if ycc, ok := img.(*image.YCbCr); ok {
					rr, gg, bb := color.YCbCrToRGB(ycc.Y[0], ycc.Cb[0], ycc.Cr[0])
					want[0], want[1], want[2] = float32(rr), float32(gg), float32(bb)
				}
				dst := make([]float32, s.Len())
				s.Preprocess(dst, img)
				n := s.InputSize * s.InputSize
				for i, v := range dst {
					if math.Abs(float64(v-want[i/n])) > 1e-3 {
						t.Fatalf("value %d = %v, want %v", i, v, want[i/n])
					}
				}
			})
		}
	}
}

// opaque hides the concrete type of an image, forcing the generic path.
type opaque struct{ image.Image }

// TestFastPathsMatchGeneric checks that each type-switched reader gives
// the same tensor as the generic At path, and that *image.YCbCr gives the
// tensor of the image drawn onto an *image.RGBA.
func TestFastPathsMatchGeneric(t *testing.T) {
	base := randomRGBA(45, 38, 2, 3, 7)
	r := base.Bounds()
	// Translucent pixels exercise un-premultiplying.
	rgba := image.NewRGBA(r)
	copy(rgba.Pix, base.Pix)
	for i := 3; i < len(rgba.Pix); i += 4 * 5 {
		a := uint8(i % 256)
		rgba.Pix[i] = a
		for c := 1; c <= 3; c++ {
			rgba.Pix[i-c] = min(rgba.Pix[i-c], a)
		}
	}
	nrgba := image.NewNRGBA(r)
	copy(nrgba.Pix, base.Pix)
	for i := 3; i < len(nrgba.Pix); i += 4 * 3 {
		nrgba.Pix[i] = uint8(i)
	}
	gray := image.NewGray(r)
	draw.Draw(gray, r, base, r.Min, draw.Src)
	pal := image.NewPaletted(r, color.Palette{color.RGBA{1, 2, 3, 255}, color.NRGBA{200, 100, 50, 128}, color.Gray{77}})
	for i := range pal.Pix {
		pal.Pix[i] = uint8(i % 3)
	}
	gray16 := image.NewGray16(r)
	draw.Draw(gray16, r, base, r.Min, draw.Src)

	specs := []Spec{rawSpec(16, 20), rawSpec(30, 0), TorchvisionSpec()}
	for _, img := range []image.Image{rgba, nrgba, gray, pal, gray16} {
		for _, s := range specs {
			t.Run(fmt.Sprintf("%T/%d_%d", img, s.Resize, s.InputSize), func(t *testing.T) {
				got, want := make([]float32, s.Len()), make([]float32, s.Len())
				s.Preprocess(got, img)
				ref := image.Image(opaque{img})
				if m, ok := img.(*image.NRGBA); ok {
					// Alpha is dropped exactly; the generic path would
					// round through premultiplied colour.
					o := image.NewNRGBA(m.Rect)
					copy(o.Pix, m.Pix)
					for i := 3; i < len(o.Pix); i += 4 {
						o.Pix[i] = 0xff
					}
					ref = opaque{o}
				}
				s.Preprocess(want, ref)
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("value %d: fast path %v, generic %v", i, got[i], want[i])
					}
				}
			})
		}
	}
	ratios := []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410}
	// A negative origin takes the COffset path.
	for _, r := range []image.Rectangle{r, r.Add(image.Pt(-9, -5))} {
		for _, ratio := range ratios {
			ycc := image.NewYCbCr(r, ratio)
			for i := range ycc.Y {
				ycc.Y[i] = base.Pix[4*i%len(base.Pix)]
			}
			for i := range ycc.Cb {
				ycc.Cb[i], ycc.Cr[i] = base.Pix[(4*i+1)%len(base.Pix)], base.Pix[(4*i+2)%len(base.Pix)]
			}
			drawn := image.NewRGBA(r)
			draw.Draw(drawn, r, ycc, r.Min, draw.Src)
			nycca := &image.NYCbCrA{YCbCr: *ycc, A: make([]uint8, len(ycc.Y)), AStride: ycc.YStride}
			for _, s := range specs {
				t.Run(fmt.Sprintf("YCbCr%v/%v/%d_%d", ratio, r.Min, s.Resize, s.InputSize), func(t *testing.T) {
					got, nGot, want := make([]float32, s.Len()), make([]float32, s.Len()), make([]float32, s.Len())
					s.Preprocess(got, ycc)
					s.Preprocess(nGot, nycca)
					s.Preprocess(want, drawn)
					for i := range got {
						if got[i] != want[i] || nGot[i] != want[i] {
							t.Fatalf("value %d: YCbCr %v, NYCbCrA %v, drawn RGBA %v", i, got[i], nGot[i], want[i])
						}
					}
				})
			}
		}
	}
}

func TestPreprocessorAllocs(t *testing.T) {
	r := image.Rect(0, 0, 300, 200)
	images := []image.Image{image.NewRGBA(r), image.NewNRGBA(r), image.NewGray(r), image.NewYCbCr(r, image.YCbCrSubsampleRatio420), image.NewPaletted(r, color.Palette{color.White})}
	p, err := NewPreprocessor(TorchvisionSpec())
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, p.Spec().Len())
	for _, img := range images {
		p.Preprocess(dst, img) // Grows the scratch buffers.
		if a := testing.AllocsPerRun(5, func() { p.Preprocess(dst, img) }); a != 0 {
			t.Errorf("%T: %v allocations per call, want 0", img, a)
		}
	}
}

func TestPreprocessPanics(t *testing.T) {
	tests := []struct {
		name string
		f    func()
		want string
	}{
		{"dst too short", func() { TorchvisionSpec().Preprocess(make([]float32, 10), image.NewGray(image.Rect(0, 0, 9, 9))) }, "imageprep: dst too short"},
		{"empty image", func() { rawSpec(1, 0).Preprocess(make([]float32, 3), image.NewGray(image.Rect(0, 0, 0, 9))) }, "imageprep: empty image"},
		{"invalid spec", func() { Spec{}.Preprocess(make([]float32, 3), image.NewGray(image.Rect(0, 0, 9, 9))) }, "imageprep: invalid spec: input size 0 outside 1..8192"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != tt.want {
					t.Errorf("panic %v, want %q", r, tt.want)
				}
			}()
			tt.f()
		})
	}
}

func TestValidate(t *testing.T) {
	mod := func(f func(*Spec)) Spec {
		s := TorchvisionSpec()
		f(&s)
		return s
	}
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	tests := []struct {
		name string
		spec Spec
		ok   bool
	}{
		{"torchvision", TorchvisionSpec(), true},
		{"raw crop only", rawSpec(224, 0), true},
		{"NHWC BGR", mod(func(s *Spec) { s.Layout, s.ChannelOrder = NHWC, BGR }), true},
		{"resize equals input", mod(func(s *Spec) { s.Resize = 224 }), true},
		{"zero input", mod(func(s *Spec) { s.InputSize = 0 }), false},
		{"negative input", mod(func(s *Spec) { s.InputSize = -1 }), false},
		{"huge input", mod(func(s *Spec) { s.InputSize, s.Resize = MaxSize+1, 0 }), false},
		{"resize below input", mod(func(s *Spec) { s.Resize = 200 }), false},
		{"negative resize", mod(func(s *Spec) { s.Resize = -256 }), false},
		{"huge resize", mod(func(s *Spec) { s.Resize = MaxSize + 1 }), false},
		{"lower-case rgb", mod(func(s *Spec) { s.ChannelOrder = "rgb" }), false},
		{"empty order", mod(func(s *Spec) { s.ChannelOrder = "" }), false},
		{"layout CHW", mod(func(s *Spec) { s.Layout = "CHW" }), false},
		{"zero scale", mod(func(s *Spec) { s.Scale = 0 }), false},
		{"NaN scale", mod(func(s *Spec) { s.Scale = nan }), false},
		{"infinite mean", mod(func(s *Spec) { s.Mean[1] = inf }), false},
		{"zero std", mod(func(s *Spec) { s.Std[2] = 0 }), false},
		{"negative std", mod(func(s *Spec) { s.Std[0] = -1 }), false},
		{"NaN std", mod(func(s *Spec) { s.Std[1] = nan }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.Validate()
			if tt.ok != (err == nil) {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errorsIs(err, ErrInvalidSpec) {
				t.Errorf("error %v does not wrap ErrInvalidSpec", err)
			}
		})
	}
}

func TestShape(t *testing.T) {
	s := TorchvisionSpec()
	if got := s.Shape(); got != [4]int{1, 3, 224, 224} || s.Len() != 3*224*224 {
		t.Errorf("NCHW shape %v, len %d", got, s.Len())
	}
	s.Layout = NHWC
	if got := s.Shape(); got != [4]int{1, 224, 224, 3} {
		t.Errorf("NHWC shape %v", got)
	}
}

// TestSharedDog preprocesses a real photograph with the torchvision spec
// and checks the tensor's statistics are those of a normalised image.
func TestSharedDog(t *testing.T) {
	img, err := Decode(refdata.Image(t, "dog.jpg"), DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := TorchvisionSpec()
	dst := make([]float32, s.Len())
	s.Preprocess(dst, img)
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
		// 0..255 normalised can only reach about -2.12..2.64.
		vmin := (0 - float64(s.Mean[c])) / float64(s.Std[c])
		vmax := (1 - float64(s.Mean[c])) / float64(s.Std[c])
		if lo < vmin-1e-4 || hi > vmax+1e-4 || math.Abs(mean) > 1.5 || std < 0.2 || std > 2 {
			t.Errorf("channel %d: min %.3f max %.3f mean %.3f std %.3f outside sane bounds", c, lo, hi, mean, std)
		}
		t.Logf("channel %d: min %.3f max %.3f mean %.3f std %.3f", c, lo, hi, mean, std)
	}
}

// TestYCbCrToRGBExhaustive checks ycbcrToRGB against the standard
// library on all 2^24 inputs.
func TestYCbCrToRGBExhaustive(t *testing.T) {
	if testing.Short() {
		t.Skip("exhaustive")
	}
	for y := range 256 {
		for cb := range 256 {
			for cr := range 256 {
				r, g, b := ycbcrToRGB(uint8(y), uint8(cb), uint8(cr))
				wr, wg, wb := color.YCbCrToRGB(uint8(y), uint8(cb), uint8(cr))
				if r != float32(wr) || g != float32(wg) || b != float32(wb) {
					t.Fatalf("ycbcrToRGB(%d, %d, %d) = %v, %v, %v, want %d, %d, %d", y, cb, cr, r, g, b, wr, wg, wb)
				}
			}
		}
	}
}
