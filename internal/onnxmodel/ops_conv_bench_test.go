package onnxmodel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkConvLayer runs single ResNet50 convolutions (bias, ReLU, and the
// residual add where ResNet50 fuses one) as the engine plans them, at batch
// 1 and 8 and one and two threads, reporting ms per image.
//
//	go test -run XXX -bench ConvLayer ./internal/onnxmodel/
func BenchmarkConvLayer(b *testing.B) {
	layers := []struct {
		name              string
		c, hw, m, k, s, p int
		residual          bool
	}{
		{"1x1-128-512-28", 128, 28, 512, 1, 1, 0, true},
		{"1x1-512-128-28", 512, 28, 128, 1, 1, 0, false},
		{"1x1-64-256-56", 64, 56, 256, 1, 1, 0, true},
		{"1x1-256-1024-14", 256, 14, 1024, 1, 1, 0, true},
		{"3x3s2-128-56", 128, 56, 128, 3, 2, 1, false},
		{"3x3-128-28", 128, 28, 128, 3, 1, 1, false},
		{"3x3-256-14", 256, 14, 256, 3, 1, 1, false},
	}
	r := rand.New(rand.NewPCG(1, 1))
	for _, l := range layers {
		for _, n := range []int{1, 8} {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/n=%d/threads=%d", l.name, n, threads), func(b *testing.B) {
					cc := convCase{n: n, c: l.c, h: l.hw, w: l.hw, m: l.m, kh: l.k, kw: l.k, group: 1, sh: l.s, sw: l.s, dh: 1, dw: 1,
						pt: l.p, pl: l.p, pb: l.p, pr: l.p, bias: true}
					nd := cc.node()
					nd.fuse.act = actRelu
					xs, ws := []int{n, l.c, l.hw, l.hw}, []int{l.m, l.c, l.k, l.k}
					w := &value{dtype: Float32, shape: ws, f: randFloats(r, shapeSize(ws))}
					bias := &value{dtype: Float32, shape: []int{l.m}, f: randFloats(r, l.m)}
					oh := (l.hw+2*l.p-l.k)/l.s + 1
					os := []int{n, l.m, oh, oh}
					ins := []info{{dtype: Float32, shape: xs}, {dtype: Float32, shape: ws, c: w}, {dtype: Float32, shape: []int{l.m}, c: bias}}
					vals := []*value{{dtype: Float32, shape: xs, f: randFloats(r, shapeSize(xs))}, w, bias}
					if l.residual {
						nd.fuse.residual = true
						nd.inputs = append(nd.inputs, "r")
						ins = append(ins, info{dtype: Float32, shape: os})
						vals = append(vals, &value{dtype: Float32, shape: os, f: randFloats(r, shapeSize(os))})
					}
					pc := &planCtx{opset: 13, threads: threads, cache: newLoadCache()}
					_, k, err := buildConv(pc, nd, ins)
					if err != nil {
						b.Fatal(err)
					}
					outs := []*value{{dtype: Float32, shape: os, f: make([]float32, shapeSize(os))}}
					var wp *workerPool
					if threads > 1 {
						wp = newWorkerPool(threads - 1)
						defer wp.close()
					}
					x := newExec(pc.workspace, threads, wp)
					k(x, vals, outs)
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						k(x, vals, outs)
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N*n), "ms/image")
				})
			}
		}
	}
}
