package onnxmodel

import (
	"fmt"
	"math"
)

// opsNorm holds BatchNormalization (inference only).
var opsNorm = map[string]opSpec{
	"BatchNormalization": {build: buildBatchNorm},
}

// bnPlan is an inference BatchNormalization, y = x·a + b per channel (or
// per element when opset-7 spatial=0), with a = scale/sqrt(var+eps) and
// b = bias - mean·a.
type bnPlan struct {
	n, inner int     // images; elements per image
	per      int     // elements sharing one parameter
	params   int     // number of parameters (C or C·D1·...)
	eps      float64 //
	a, b     []float32
}

func buildBatchNorm(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
	if len(ins) != 5 {
		return nil, nil, fmt.Errorf("want 5 inputs, got %d", len(ins))
	}
	for k, in := range ins {
		if in.dtype != Float32 {
			return nil, nil, fmt.Errorf("input %d must be a float tensor", k)
		}
	}
	if n.attrs.int("training_mode", 0) != 0 {
		return nil, nil, fmt.Errorf("%w: BatchNormalization training_mode=1", ErrUnsupported)
	}
	x := ins[0].shape
	if len(x) < 2 {
		return nil, nil, fmt.Errorf("X has shape %v, want rank >= 2", x)
	}
	bp := &bnPlan{n: x[0], inner: shapeSize(x[1:]), params: x[1], eps: float64(n.attrs.float("epsilon", 1e-5))}
	if p.opset < 9 && n.attrs.int("spatial", 1) == 0 {
		bp.params = shapeSize(x[1:])
	}
	bp.per = bp.inner / bp.params
	for k := 1; k < 5; k++ {
		if shapeSize(ins[k].shape) != bp.params {
			return nil, nil, fmt.Errorf("input %d has shape %v, want %d values for X %v", k, ins[k].shape, bp.params, x)
		}
	}
	if ins[1].c != nil && ins[2].c != nil && ins[3].c != nil && ins[4].c != nil {
		bp.a, bp.b = make([]float32, bp.params), make([]float32, bp.params)
		bp.coefs(bp.a, bp.b, ins[1].c.f, ins[2].c.f, ins[3].c.f, ins[4].c.f)
	} else {
		p.reserve(2 * bp.params)
	}
	outs := []info{{dtype: Float32, shape: x}}
	// Inference mode passes the running statistics through to the optional
	// outputs (running mean, running var, saved mean, saved var).
	for k := 1; k < len(n.outputs) && k < 5; k++ {
		src := ins[3+(k-1)%2]
		outs = append(outs, info{dtype: Float32, shape: src.shape})
	}
	if len(n.outputs) > 5 {
		return nil, nil, fmt.Errorf("%d outputs, want at most 5", len(n.outputs))
	}
	return outs, bp.run, nil
}

func (bp *bnPlan) coefs(a, b, scale, bias, mean, vr []float32) {
	for c := range a {
		s := float64(scale[c]) / math.Sqrt(float64(vr[c])+bp.eps)
		a[c] = float32(s)
		b[c] = float32(float64(bias[c]) - float64(mean[c])*s)
	}
}

func (bp *bnPlan) run(x *exec, ins, outs []*value) {
	a, b := bp.a, bp.b
	if a == nil {
		a, b = x.ws[:bp.params], x.ws[bp.params:2*bp.params]
		bp.coefs(a, b, ins[1].f, ins[2].f, ins[3].f, ins[4].f)
	}
	src, dst := ins[0].f, outs[0].f
	for i := range bp.n {
		for c := range bp.params {
			off := i*bp.inner + c*bp.per
			s, t := a[c], b[c]
			d := dst[off : off+bp.per]
			for j, v := range src[off : off+bp.per] {
				d[j] = v*s + t
			}
		}
	}
	for k := 1; k < len(outs); k++ {
		if outs[k] != nil {
			copy(outs[k].f, ins[3+(k-1)%2].f)
		}
	}
}
