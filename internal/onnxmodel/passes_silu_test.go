package onnxmodel

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tlserve/tlserve/internal/modelgen"
	"github.com/tlserve/tlserve/internal/onnxpb"
)

// TestFuseSiLU checks which Sigmoid·Mul pairs become one SiLU kernel and
// that the result is x·sigmoid(x) (or the unfused graph's value) at batch
// 1 and 3.
func TestFuseSiLU(t *testing.T) {
	cases := []struct {
		name  string
		build func(g *testGraph) *testGraph // reads x and y, writes z
		want  map[string]int                // kernels in the plan
		ref   func(x, y float64) float64
	}{
		{"x times sigmoid", func(g *testGraph) *testGraph {
			return g.node("Sigmoid", "s", []string{"x"}, []string{"s"}).
				node("Mul", "m", []string{"x", "s"}, []string{"z"})
		}, map[string]int{siluOp: 1}, silu64},
		{"sigmoid times x", func(g *testGraph) *testGraph {
			return g.node("Sigmoid", "s", []string{"x"}, []string{"s"}).
				node("Mul", "m", []string{"s", "x"}, []string{"z"})
		}, map[string]int{siluOp: 1}, silu64},
		{"after another op", func(g *testGraph) *testGraph {
			return g.node("Add", "a", []string{"x", "y"}, []string{"a"}).
				node("Sigmoid", "s", []string{"a"}, []string{"s"}).
				node("Mul", "m", []string{"s", "a"}, []string{"z"})
		}, map[string]int{"Add": 1, siluOp: 1}, func(x, y float64) float64 { return silu64(x+y, 0) }},
		{"sigmoid read twice", func(g *testGraph) *testGraph {
			return g.node("Sigmoid", "s", []string{"x"}, []string{"s"}).
				node("Mul", "m", []string{"x", "s"}, []string{"m"}).
				node("Add", "a", []string{"m", "s"}, []string{"z"})
		}, map[string]int{"Sigmoid": 1, "Mul": 1, "Add": 1}, func(x, _ float64) float64 { return silu64(x, 0) + sigmoid64(x) }},
		{"gate of another tensor", func(g *testGraph) *testGraph {
			return g.node("Sigmoid", "s", []string{"y"}, []string{"s"}).
				node("Mul", "m", []string{"x", "s"}, []string{"z"})
		}, map[string]int{"Sigmoid": 1, "Mul": 1}, func(x, y float64) float64 { return x * sigmoid64(y) }},
		{"sigmoid squared", func(g *testGraph) *testGraph {
			return g.node("Sigmoid", "s", []string{"x"}, []string{"s"}).
				node("Mul", "m", []string{"s", "s"}, []string{"z"})
		}, map[string]int{"Sigmoid": 1, "Mul": 1}, func(x, _ float64) float64 { return sigmoid64(x) * sigmoid64(x) }},
	}
	r := rand.New(rand.NewPCG(41, 42))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newTestGraph(13).input("x", -1, 3, 7).input("y", -1, 3, 7)
			m := tc.build(g).output("z").parse(t, Options{Threads: 1})
			for _, n := range []int{1, 3} {
				if ops := planOps(t, m, n); fmt.Sprint(ops) != fmt.Sprint(tc.want) {
					t.Fatalf("batch %d: plan runs %v, want %v", n, ops, tc.want)
				}
				x, y := randFloats(r, n*21), randFloats(r, n*21)
				for i := range x {
					x[i] *= 12 // reach both tails of the sigmoid
				}
				out, err := m.Run(context.Background(), map[string]*Tensor{
					"x": {Shape: []int{n, 3, 7}, Data: x}, "y": {Shape: []int{n, 3, 7}, Data: y},
				})
				if err != nil {
					t.Fatalf("batch %d: %v", n, err)
				}
				want := make([]float32, len(x))
				for i := range want {
					want[i] = float32(tc.ref(float64(x[i]), float64(y[i])))
				}
				if i, ok := closeTo(out["z"].Data, want, 1e-6); !ok {
					t.Fatalf("batch %d: element %d (x=%g): got %g, want %g", n, i, x[i], out["z"].Data[i], want[i])
				}
			}
		})
	}
}

func sigmoid64(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func silu64(x, _ float64) float64 { return x * sigmoid64(x) }

// TestFuseSiLUKeepsPinnedSigmoid checks that a Sigmoid output the caller
// asks for as the embedding is not fused away.
func TestFuseSiLUKeepsPinnedSigmoid(t *testing.T) {
	m := newTestGraph(13).input("x", 1, 2, 3, 3).
		node("Sigmoid", "s", []string{"x"}, []string{"s"}).
		node("Mul", "m", []string{"x", "s"}, []string{"z"}).
		output("z").parse(t, Options{Threads: 1, Embedding: "s"})
	if ops := planOps(t, m, 1); ops["Sigmoid"] != 1 || ops["Mul"] != 1 {
		t.Fatalf("plan runs %v, want the pinned Sigmoid and its Mul", ops)
	}
}

// TestEfficientNetSiLUFuses checks that every SiLU of the EfficientNet-B0
// export runs as one kernel: the plan keeps only the squeeze-excitation
// gates' Sigmoids (whose Mul scales another tensor), and Extract
// does not allocate.
func TestEfficientNetSiLUFuses(t *testing.T) {
	pm, err := modelgen.Zoo(modelgen.ZooEfficientNetB0Opset11, modelgen.ZooOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sigmoidOf := map[string]string{} // output → input
	for _, n := range pm.Graph.Nodes {
		if n.OpType == "Sigmoid" {
			sigmoidOf[n.Output[0]] = n.Input[0]
		}
	}
	silus := 0
	for _, n := range pm.Graph.Nodes {
		if n.OpType != "Mul" {
			continue
		}
		a, b := n.Input[0], n.Input[1]
		if sigmoidOf[a] == b || sigmoidOf[b] == a {
			silus++
		}
	}
	if silus == 0 || silus == len(sigmoidOf) {
		t.Fatalf("generated model has %d SiLUs among %d Sigmoids; want some of each", silus, len(sigmoidOf))
	}
	for _, threads := range []int{1, 2} {
		m, err := Parse(onnxpb.EncodeModel(pm), Options{Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		ops := planOps(t, m, 1)
		if ops[siluOp] != silus || ops["Sigmoid"] != len(sigmoidOf)-silus {
			t.Fatalf("plan runs %d SiLU and %d Sigmoid kernels, want %d and %d", ops[siluOp], ops["Sigmoid"], silus, len(sigmoidOf)-silus)
		}
		if raceEnabled {
			continue // allocation counts are not meaningful under the race detector
		}
		s := m.InputShape()
		img := randFloats(rand.New(rand.NewPCG(43, 44)), s[0]*s[1]*s[2])
		var f Features
		ctx := context.Background()
		if err := m.Extract(ctx, &f, img, 1); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(10, func() {
			if err := m.Extract(ctx, &f, img, 1); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("threads=%d: Extract allocates %v times per run, want 0", threads, allocs)
		}
	}
}
