package gemm

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var (
	tune       = flag.String("tune", "", "compare blocking settings (kc, mc or nc) side by side and log GFLOP/s; not a pass/fail test")
	tuneKernel = flag.String("tunekernel", "", "kernel for -tune (default: the best one)")
)

// TestTuneBlocking times MulPacked on the ResNet50 sizes for several values
// of one blocking parameter, interleaving the settings round by round so
// that load from other processes affects all of them alike, and logs the
// best time of each. It only runs with -tune=kc|mc|nc.
func TestTuneBlocking(t *testing.T) {
	if *tune == "" {
		t.Skip("tuning run; enable with -tune=kc|mc|nc")
	}
	params := map[string]struct {
		p    *int
		vals []int
	}{
		"kc": {&kc, []int{128, 192, 256, 320, 384, 512}},
		"mc": {&mc, []int{48, 96, 192, 288, 384, 768}},
		"nc": {&nc, []int{64, 128, 256, 512, 1024, 4096}},
	}
	defer lockThread()()
	pr, ok := params[*tune]
	if !ok {
		t.Fatalf("unknown -tune=%q", *tune)
	}
	saved, savedImpl := *pr.p, impl
	defer func() { *pr.p, impl = saved, savedImpl }()
	if *tuneKernel != "" {
		found := false
		for _, k := range kernels() {
			if k.name == *tuneKernel {
				impl, found = k, true
			}
		}
		if !found {
			t.Fatalf("kernel %q not available", *tuneKernel)
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "kernel %s, GFLOP/s per thread CPU second (best of rounds)\n%-16s", impl.name, "m/n/k")
	for _, v := range pr.vals {
		fmt.Fprintf(&sb, " %s=%-5d", *tune, v)
	}
	sb.WriteString("\n")
	for _, s := range resnetSizes {
		m, n, k := s[0], s[1], s[2]
		rng := rand.New(rand.NewPCG(1, 1))
		pa := PackA(m, k, randSlice(rng, m*k), k)
		bm := randSlice(rng, k*n)
		dst := make([]float32, m*n)
		ep := &Epilogue{Bias: randSlice(rng, m), Act: Relu}
		best := make([]time.Duration, len(pr.vals))
		reps := max(1, int(2e8/(2*float64(m*n*k))))
		for round := 0; round < 7; round++ {
			for i, v := range pr.vals {
				*pr.p = v
				ws := make([]float32, WorkspaceSize(k, n))
				start := threadCPU()
				for range reps {
					MulPacked(dst, n, pa, bm, n, n, ep, ws)
				}
				d := (threadCPU() - start) / time.Duration(reps)
				if round == 0 || d < best[i] {
					best[i] = d
				}
			}
		}
		fmt.Fprintf(&sb, "%-16s", fmt.Sprintf("%d/%d/%d", m, n, k))
		for _, d := range best {
			fmt.Fprintf(&sb, " %8.1f", 2*float64(m*n*k)/float64(d.Nanoseconds()))
		}
		sb.WriteString("\n")
	}
	t.Log("\n" + sb.String())
}
