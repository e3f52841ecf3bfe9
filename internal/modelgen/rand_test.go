package modelgen

import (
	"math"
	"testing"
)

// TestPCG32Reference checks the generator against the output of the PCG
// reference implementation's pcg32-demo (pcg32_srandom_r(&rng, 42, 54)).
func TestPCG32Reference(t *testing.T) {
	r := newRandStream(42, 54)
	want := []uint32{0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e}
	for i, w := range want {
		if got := r.Uint32(); got != w {
			t.Fatalf("output %d = %#08x, want %#08x", i, got, w)
		}
	}
}

func TestInput(t *testing.T) {
	const n = 3 * 32 * 32
	one := make([]float32, n)
	four := make([]float32, 4*n)
	Input(one, 5)
	Input(four, 5)
	for i := range one {
		if one[i] != four[i] {
			t.Fatalf("value %d: batch-1 input %g, batch-4 input %g; the first image must not depend on the batch size", i, one[i], four[i])
		}
	}
	var sum, sq float64
	a := float32(math.Sqrt(3))
	for i, v := range four {
		if v < -a || v >= a {
			t.Fatalf("value %d = %g outside [-√3, √3)", i, v)
		}
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	mean, variance := sum/float64(len(four)), sq/float64(len(four))
	if math.Abs(mean) > 0.02 || math.Abs(variance-1) > 0.03 {
		t.Errorf("mean %g variance %g, want about 0 and 1", mean, variance)
	}
	other := make([]float32, n)
	Input(other, 6)
	same := 0
	for i := range other {
		if other[i] == one[i] {
			same++
		}
	}
	if same > n/100 {
		t.Errorf("seeds 5 and 6 agree on %d of %d values", same, n)
	}
}

func TestSeedFor(t *testing.T) {
	if seedFor(1, "a.weight") == seedFor(1, "b.weight") {
		t.Error("different names give the same seed")
	}
	if seedFor(1, "a.weight") == seedFor(2, "a.weight") {
		t.Error("different model seeds give the same tensor seed")
	}
	if seedFor(1, "a.weight") != seedFor(1, "a.weight") {
		t.Error("seedFor is not a function of its arguments")
	}
}
