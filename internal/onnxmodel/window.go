package onnxmodel

import "fmt"

// window is the geometry of a sliding-window operator (Conv, MaxPool,
// AveragePool) over its spatial dimensions, following the ONNX formulas for
// auto_pad, pads, strides, dilations and ceil_mode.
type window struct {
	in, k, out   []int
	strides, dil []int
	pb, pe       []int // padding at the beginning and end of each dimension
}

// newWindow validates the window attributes of n for spatial input sizes
// in and kernel sizes k. withDil says whether the operator has a dilations
// attribute; withCeil whether it has ceil_mode.
func newWindow(n *node, in, k []int, withDil, withCeil bool) (*window, error) {
	r := len(in)
	w := &window{in: in, k: k, out: make([]int, r), pb: make([]int, r), pe: make([]int, r)}
	var err error
	if w.strides, err = positive(n.attrs.ints("strides", nil), r, "strides"); err != nil {
		return nil, err
	}
	w.dil = ones(r)
	if withDil {
		if w.dil, err = positive(n.attrs.ints("dilations", nil), r, "dilations"); err != nil {
			return nil, err
		}
	}
	ceil := withCeil && n.attrs.int("ceil_mode", 0) != 0
	for d := range r {
		if k[d] <= 0 {
			return nil, fmt.Errorf("kernel size %d in dimension %d", k[d], d)
		}
	}
	switch pad := n.attrs.str("auto_pad", "NOTSET"); pad {
	case "NOTSET", "":
		pads := n.attrs.ints("pads", nil)
		if pads != nil && len(pads) != 2*r {
			return nil, fmt.Errorf("pads has %d entries, want %d", len(pads), 2*r)
		}
		for d := range r {
			if pads != nil {
				if pads[d] < 0 || pads[d+r] < 0 || pads[d] > 1<<20 || pads[d+r] > 1<<20 {
					return nil, fmt.Errorf("pads %v out of range", pads)
				}
				w.pb[d], w.pe[d] = int(pads[d]), int(pads[d+r])
			}
		}
	case "VALID":
	case "SAME_UPPER", "SAME_LOWER":
		for d := range r {
			out := (in[d] + w.strides[d] - 1) / w.strides[d]
			total := max(0, (out-1)*w.strides[d]+(k[d]-1)*w.dil[d]+1-in[d])
			small, big := total/2, total-total/2
			if pad == "SAME_UPPER" {
				w.pb[d], w.pe[d] = small, big
			} else {
				w.pb[d], w.pe[d] = big, small
			}
		}
	default:
		return nil, fmt.Errorf("auto_pad %q", pad)
	}
	for d := range r {
		span := in[d] + w.pb[d] + w.pe[d] - ((k[d]-1)*w.dil[d] + 1)
		if span < 0 {
			return nil, fmt.Errorf("kernel %v (dilations %v) is larger than the padded input %v", k, w.dil, in)
		}
		out := span/w.strides[d] + 1
		if ceil && span%w.strides[d] != 0 {
			out++
			// A last window starting in the end padding would see no input
			// (the rule of PyTorch and ONNX Runtime).
			if (out-1)*w.strides[d] >= in[d]+w.pb[d] {
				out--
			}
		}
		w.out[d] = out
	}
	return w, nil
}

// positive returns v as ints, all >= 1, of length r; nil means all ones.
func positive(v []int64, r int, what string) ([]int, error) {
	if v == nil {
		return ones(r), nil
	}
	if len(v) != r {
		return nil, fmt.Errorf("%s has %d entries, want %d", what, len(v), r)
	}
	out := make([]int, r)
	for i, x := range v {
		if x < 1 || x > 1<<20 {
			return nil, fmt.Errorf("%s %v out of range", what, v)
		}
		out[i] = int(x)
	}
	return out, nil
}

func ones(r int) []int {
	s := make([]int, r)
	for i := range s {
		s[i] = 1
	}
	return s
}

// kernelShape returns the kernel_shape attribute, which must have r
// positive entries.
func kernelShape(n *node, r int) ([]int, error) {
	ks := n.attrs.ints("kernel_shape", nil)
	if ks == nil {
		return nil, fmt.Errorf("kernel_shape is required")
	}
	return positive(ks, r, "kernel_shape")
}

// geom2D is the 2-D geometry the kernels use; a 1-D window is a 2-D one
// of height 1.
type geom2D struct {
	h, w, oh, ow, kh, kw, sh, sw, dh, dw int
	pt, pl, pbot, pr                     int // padding: top, left, bottom, right
}

// as2D returns the 2-D geometry of a window of rank 1 or 2.
func (wn *window) as2D() geom2D {
	if len(wn.in) == 1 {
		return geom2D{h: 1, w: wn.in[0], oh: 1, ow: wn.out[0], kh: 1, kw: wn.k[0], sh: 1, sw: wn.strides[0],
			dh: 1, dw: wn.dil[0], pl: wn.pb[0], pr: wn.pe[0]}
	}
	return geom2D{h: wn.in[0], w: wn.in[1], oh: wn.out[0], ow: wn.out[1], kh: wn.k[0], kw: wn.k[1],
		sh: wn.strides[0], sw: wn.strides[1], dh: wn.dil[0], dw: wn.dil[1], pt: wn.pb[0], pl: wn.pb[1],
		pbot: wn.pe[0], pr: wn.pe[1]}
}
