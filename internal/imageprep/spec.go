package imageprep

import (
	"errors"
	"fmt"
	"image"
	"math"
)

// Channel orders and tensor layouts accepted by Spec.
const (
	RGB  = "RGB"
	BGR  = "BGR"
	NCHW = "NCHW"
	NHWC = "NHWC"
)

// MaxSize bounds Spec.InputSize and Spec.Resize. It keeps the scratch
// memory of a Preprocessor bounded whatever a manifest says.
const MaxSize = 8192

// ErrInvalidSpec is wrapped by the errors of Spec.Validate.
var ErrInvalidSpec = errors.New("imageprep: invalid spec")

// Spec describes the input a model expects.
//
// The image is resized so that its shorter side equals Resize, then the
// central InputSize x InputSize square is cut out. With Resize == 0 the
// image is only cropped, unless its shorter side is under InputSize, in
// which case it is first enlarged so that the shorter side equals
// InputSize. Each value of the tensor is (v*Scale - Mean[c]) / Std[c],
// where v in 0..255 is the pixel's straight (not alpha-premultiplied)
// colour with alpha dropped, as PIL's convert("RGB") does; c counts
// channels in ChannelOrder, so for "BGR" Mean[0] is the mean of the blue
// channel. *image.YCbCr is converted as color.YCbCrToRGB converts it.
type Spec struct {
	InputSize    int
	Resize       int
	ChannelOrder string // RGB or BGR.
	Scale        float32
	Mean, Std    [3]float32
	Layout       string // NCHW or NHWC.
}

// TorchvisionSpec returns the preprocessing of torchvision's ImageNet
// models: resize to 256, crop 224, RGB scaled to 0..1 and normalised with
// the ImageNet mean and standard deviation, NCHW.
func TorchvisionSpec() Spec {
	return Spec{
		InputSize:    224,
		Resize:       256,
		ChannelOrder: RGB,
		Scale:        1.0 / 255,
		Mean:         [3]float32{0.485, 0.456, 0.406},
		Std:          [3]float32{0.229, 0.224, 0.225},
		Layout:       NCHW,
	}
}

// Validate returns an error wrapping ErrInvalidSpec when s cannot be used:
// InputSize outside 1..MaxSize, Resize neither 0 nor within
// InputSize..MaxSize, an unknown channel order or layout, a Scale that is
// not finite and positive, a Mean that is not finite or a Std that is not
// finite and positive.
func (s Spec) Validate() error {
	var problem string
	switch {
	case s.InputSize < 1 || s.InputSize > MaxSize:
		problem = fmt.Sprintf("input size %d outside 1..%d", s.InputSize, MaxSize)
	case s.Resize != 0 && (s.Resize < s.InputSize || s.Resize > MaxSize):
		problem = fmt.Sprintf("resize %d is neither 0 nor within %d..%d", s.Resize, s.InputSize, MaxSize)
	case s.ChannelOrder != RGB && s.ChannelOrder != BGR:
		problem = fmt.Sprintf("channel order %q is neither %q nor %q", s.ChannelOrder, RGB, BGR)
	case s.Layout != NCHW && s.Layout != NHWC:
		problem = fmt.Sprintf("layout %q is neither %q nor %q", s.Layout, NCHW, NHWC)
	case !finite(s.Scale) || s.Scale <= 0:
		problem = fmt.Sprintf("scale %v is not a positive number", s.Scale)
	}
	for c := range 3 {
		if problem != "" {
			break
		}
		switch {
		case !finite(s.Mean[c]):
			problem = fmt.Sprintf("mean[%d] %v is not a number", c, s.Mean[c])
		case !finite(s.Std[c]) || s.Std[c] <= 0:
			problem = fmt.Sprintf("std[%d] %v is not a positive number", c, s.Std[c])
		}
	}
	if problem != "" {
		return fmt.Errorf("%w: %s", ErrInvalidSpec, problem)
	}
	return nil
}

func finite(f float32) bool {
	return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0)
}

// Len returns the number of values Preprocess writes: 3*InputSize*InputSize.
func (s Spec) Len() int { return 3 * s.InputSize * s.InputSize }

// Shape returns the shape of the tensor for one image in s.Layout:
// [1, 3, InputSize, InputSize] for NCHW and [1, InputSize, InputSize, 3]
// for NHWC.
func (s Spec) Shape() [4]int {
	if s.Layout == NHWC {
		return [4]int{1, s.InputSize, s.InputSize, 3}
	}
	return [4]int{1, 3, s.InputSize, s.InputSize}
}

// Preprocess writes img as the first s.Len() values of dst, as described
// on Spec. It allocates its scratch buffers on every call; use a
// Preprocessor to reuse them.
//
// Preprocess panics if s is invalid, if dst is shorter than s.Len() or if
// img has no pixels: these are programmer errors, since Decode never
// returns an empty image.
func (s Spec) Preprocess(dst []float32, img image.Image) {
	p, err := NewPreprocessor(s)
	if err != nil {
		panic(err.Error())
	}
	p.Preprocess(dst, img)
}
