package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// guard is the number of sentinel elements written before and after every
// output slice.
const guard = 37

var sentinel = float32(math.NaN())

// withKernel runs the test body with impl set to k.
func withKernel(t *testing.T, k *kernel, f func(t *testing.T)) {
	t.Helper()
	t.Run(k.name, func(t *testing.T) {
		saved := impl
		impl = k
		defer func() { impl = saved }()
		f(t)
	})
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// guarded returns a slice of n elements with guard sentinels on both sides
// (s[guard:guard+n] is the usable part) and the usable part filled from fill
// (or with sentinels when fill is nil).
func guarded(n int, fill []float32) []float32 {
	s := make([]float32, n+2*guard)
	for i := range s {
		s[i] = sentinel
	}
	copy(s[guard:guard+n], fill)
	return s
}

// checkWorkspaceGuard fails t if the guard bands around the guarded
// workspace ws no longer hold sentinels.
func checkWorkspaceGuard(t *testing.T, ws []float32) {
	t.Helper()
	for j := 0; j < guard; j++ {
		if !math.IsNaN(float64(ws[j])) || !math.IsNaN(float64(ws[len(ws)-1-j])) {
			t.Fatal("write outside the workspace")
		}
	}
}

type epiCase struct {
	name       string
	bias, add  bool
	act        Activation
	lo, hi     float32
	useNilEpil bool
}

var epiCases = []epiCase{
	{name: "nil", useNilEpil: true},
	{name: "none"},
	{name: "bias", bias: true},
	{name: "add", add: true},
	{name: "relu", act: Relu, lo: -3, hi: 0.1}, // Min and Max must be ignored
	{name: "clip", act: Clip, lo: -0.5, hi: 0.75},
	{name: "bias+relu", bias: true, act: Relu},
	{name: "bias+add+relu", bias: true, add: true, act: Relu, lo: 1, hi: 2},
	{name: "bias+add+clip", bias: true, add: true, act: Clip, lo: 0, hi: 6},
	{name: "add+clip", add: true, act: Clip, lo: -1, hi: 1},
}

// mulCase is one MulPacked problem with its inputs.
type mulCase struct {
	m, n, k           int
	lda, ldb, ldc, ld int // ld is LdAdd
	a, b              []float32
	bias, add         []float32
	ep                *Epilogue
}

func newMulCase(rng *rand.Rand, m, n, k int, ec epiCase, pad int) *mulCase {
	c := &mulCase{m: m, n: n, k: k, lda: k + pad, ldb: n + pad, ldc: n + 2*pad, ld: n + 3*pad}
	c.a = randSlice(rng, max(0, (m-1)*c.lda+k))
	c.b = randSlice(rng, max(0, (k-1)*c.ldb+n))
	if ec.useNilEpil {
		return c
	}
	c.ep = &Epilogue{Act: ec.act, Min: ec.lo, Max: ec.hi}
	if ec.bias {
		c.bias = randSlice(rng, m)
		c.ep.Bias = c.bias
	}
	if ec.add {
		c.add = randSlice(rng, (m-1)*c.ld+n)
		c.ep.Add = c.add
		c.ep.LdAdd = c.ld
	}
	return c
}

// reference returns the exact (float64) result of the case and, per
// element, the magnitude that bounds its rounding error.
func (c *mulCase) reference() (want, scale []float64) {
	want = make([]float64, c.m*c.n)
	scale = make([]float64, c.m*c.n)
	for i := 0; i < c.m; i++ {
		for j := 0; j < c.n; j++ {
			var s, mag float64
			for k := 0; k < c.k; k++ {
				p := float64(c.a[i*c.lda+k]) * float64(c.b[k*c.ldb+j])
				s += p
				mag += math.Abs(p)
			}
			if c.ep != nil {
				if c.bias != nil {
					s += float64(c.bias[i])
					mag += math.Abs(float64(c.bias[i]))
				}
				if c.add != nil {
					v := float64(c.add[i*c.ld+j])
					s += v
					mag += math.Abs(v)
				}
				switch c.ep.Act {
				case Relu:
					s = math.Max(s, 0)
				case Clip:
					s = math.Min(math.Max(s, float64(c.ep.Min)), float64(c.ep.Max))
				}
			}
			want[i*c.n+j] = s
			scale[i*c.n+j] = mag
		}
	}
	return want, scale
}

// checkOutput compares the m x n matrix in dst (guarded, stride ldc) with
// want and verifies that every element outside it still holds the sentinel.
func checkOutput(t *testing.T, dst []float32, m, n, ldc, k int, want, scale []float64) {
	t.Helper()
	tol := 4 * float64(k+4) * 0x1p-23
	bad := 0
	inside := make([]bool, len(dst))
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			idx := guard + i*ldc + j
			inside[idx] = true
			got := float64(dst[idx])
			w := want[i*n+j]
			if math.IsNaN(got) || math.Abs(got-w) > tol*(scale[i*n+j]+1e-3) {
				if bad < 5 {
					t.Errorf("C[%d,%d] = %v, want %v (scale %v)", i, j, got, w, scale[i*n+j])
				}
				bad++
			}
		}
	}
	for idx, v := range dst {
		if !inside[idx] && !math.IsNaN(float64(v)) {
			t.Fatalf("element %d outside the output (guard %d, ldc %d) overwritten with %v", idx, guard, ldc, v)
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d elements wrong", bad, m*n)
	}
}

// runMul packs A with the current kernel and runs MulPacked into a guarded
// dst whose contents before the call are sentinels everywhere.
func (c *mulCase) runMul(t *testing.T) []float32 {
	t.Helper()
	dst := guarded((c.m-1)*c.ldc+c.n, nil)
	pa := PackA(c.m, c.k, c.a, c.lda)
	if pa.M() != c.m || pa.K() != c.k {
		t.Fatalf("PackA dims = %dx%d, want %dx%d", pa.M(), pa.K(), c.m, c.k)
	}
	ws := guarded(WorkspaceSize(c.k, c.n), nil)
	MulPacked(dst[guard:], c.ldc, pa, c.b, c.ldb, c.n, c.ep, ws[guard:len(ws)-guard])
	checkWorkspaceGuard(t, ws)
	return dst
}

func TestMulPacked(t *testing.T) {
	ms := []int{1, 2, 3, 5, 6, 7, 8, 9, 13, 17, 33, 65}
	ns := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 24, 31, 33, 40, 45, 48, 50, 64, 65, 120, 127}
	ks := []int{1, 3, 17, 64, 257}
	for _, kern := range kernels() {
		withKernel(t, kern, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			idx := 0
			for _, m := range ms {
				for _, n := range ns {
					for _, k := range ks {
						ec := epiCases[idx%len(epiCases)]
						pad := idx % 3 * 5
						idx++
						c := newMulCase(rng, m, n, k, ec, pad)
						t.Run(fmt.Sprintf("m=%d/n=%d/k=%d/%s/pad=%d", m, n, k, ec.name, pad), func(t *testing.T) {
							want, scale := c.reference()
							checkOutput(t, c.runMul(t), m, n, c.ldc, k, want, scale)
						})
					}
				}
			}
		})
	}
}

func TestMulPackedEpilogues(t *testing.T) {
	sizes := [][3]int{{7, 33, 5}, {13, 100, 300}, {64, 49, 576}}
	for _, kern := range kernels() {
		withKernel(t, kern, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			for _, ec := range epiCases {
				for _, s := range sizes {
					c := newMulCase(rng, s[0], s[1], s[2], ec, 3)
					t.Run(fmt.Sprintf("%s/m=%d/n=%d/k=%d", ec.name, s[0], s[1], s[2]), func(t *testing.T) {
						want, scale := c.reference()
						checkOutput(t, c.runMul(t), c.m, c.n, c.ldc, c.k, want, scale)
					})
				}
			}
		})
	}
}

// TestMulPackedBlocking covers sizes that cross the kc, nc and mc block
// boundaries.
func TestMulPackedBlocking(t *testing.T) {
	sizes := [][3]int{
		{mc + 7, 70, 20},
		{9, nc + 65, 9},
		{11, 40, 2*kc + 3},
		{mc + 1, nc + 1, kc + 1},
	}
	for _, kern := range kernels() {
		withKernel(t, kern, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			for i, s := range sizes {
				ec := epiCases[(i*3+7)%len(epiCases)]
				c := newMulCase(rng, s[0], s[1], s[2], ec, 1)
				t.Run(fmt.Sprintf("m=%d/n=%d/k=%d/%s", s[0], s[1], s[2], ec.name), func(t *testing.T) {
					want, scale := c.reference()
					checkOutput(t, c.runMul(t), c.m, c.n, c.ldc, c.k, want, scale)
				})
			}
		})
	}
}

// TestMulPackedRandom is a randomized size test with a fixed seed.
func TestMulPackedRandom(t *testing.T) {
	for _, kern := range kernels() {
		withKernel(t, kern, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 8))
			for i := 0; i < 150; i++ {
				m, n, k := 1+rng.IntN(80), 1+rng.IntN(200), 1+rng.IntN(300)
				ec := epiCases[rng.IntN(len(epiCases))]
				c := newMulCase(rng, m, n, k, ec, rng.IntN(9))
				t.Run(fmt.Sprintf("m=%d/n=%d/k=%d/%s", m, n, k, ec.name), func(t *testing.T) {
					want, scale := c.reference()
					checkOutput(t, c.runMul(t), m, n, c.ldc, k, want, scale)
				})
			}
		})
	}
}

func TestMulPackedZeroK(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	c := newMulCase(rng, 5, 7, 0, epiCases[8], 2)
	want, scale := c.reference()
	checkOutput(t, c.runMul(t), c.m, c.n, c.ldc, 0, want, scale)
}

// TestRowRange splits A at every RowTile multiple and checks that the parts
// reproduce the whole product.
func TestRowRange(t *testing.T) {
	for _, kern := range kernels() {
		withKernel(t, kern, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, 12))
			c := newMulCase(rng, 4*RowTile()+3, 37, 29, epiCases[7], 2)
			want, scale := c.reference()
			pa := PackA(c.m, c.k, c.a, c.lda)
			rt := pa.RowTile()
			for split := 0; split <= c.m; split += rt {
				t.Run(fmt.Sprintf("split=%d", split), func(t *testing.T) {
					dst := guarded((c.m-1)*c.ldc+c.n, nil)
					ws := make([]float32, WorkspaceSize(c.k, c.n))
					for _, r := range [][2]int{{0, split}, {split, c.m}} {
						part := pa.RowRange(r[0], r[1])
						if part.M() != r[1]-r[0] || part.K() != c.k {
							t.Fatalf("RowRange(%d,%d) dims %dx%d", r[0], r[1], part.M(), part.K())
						}
						if part.M() == 0 {
							continue
						}
						ep := *c.ep
						ep.Bias = c.bias[r[0]:]
						ep.Add = c.add[r[0]*c.ld:]
						MulPacked(dst[guard+r[0]*c.ldc:], c.ldc, part, c.b, c.ldb, c.n, &ep, ws)
					}
					checkOutput(t, dst, c.m, c.n, c.ldc, c.k, want, scale)
				})
			}
		})
	}
}

func TestSgemm(t *testing.T) {
	sizes := [][3]int{{1, 1, 1}, {3, 5, 7}, {7, 65, 13}, {31, 17, 33}, {13, 127, 300}, {65, 33, 64}, {9, 50, 20}}
	scalars := [][2]float32{{1, 0}, {1, 1}, {0.5, -2}, {-1.5, 0.25}, {0, 0.5}}
	for _, kern := range kernels() {
		withKernel(t, kern, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(13, 14))
			for _, s := range sizes {
				for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
					for _, ab := range scalars {
						m, n, k := s[0], s[1], s[2]
						name := fmt.Sprintf("m=%d/n=%d/k=%d/tA=%v/tB=%v/alpha=%v/beta=%v", m, n, k, tr[0], tr[1], ab[0], ab[1])
						t.Run(name, func(t *testing.T) {
							testSgemm(t, rng, m, n, k, tr[0], tr[1], ab[0], ab[1])
						})
					}
				}
			}
		})
	}
}

func testSgemm(t *testing.T, rng *rand.Rand, m, n, k int, transA, transB bool, alpha, beta float32) {
	t.Helper()
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	lda, ldb, ldc := ac+1, bc+2, n+3
	a := randSlice(rng, (ar-1)*lda+ac)
	b := randSlice(rng, (br-1)*ldb+bc)
	c0 := randSlice(rng, (m-1)*ldc+n)
	if beta == 0 {
		// BLAS semantics: C is not read, so NaNs in it must vanish.
		for i := range c0 {
			c0[i] = float32(math.NaN())
		}
	}
	dst := guarded(len(c0), nil)
	for i := 0; i < m; i++ {
		copy(dst[guard+i*ldc:guard+i*ldc+n], c0[i*ldc:i*ldc+n])
	}
	want := make([]float64, m*n)
	scale := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, mag float64
			for kk := 0; kk < k; kk++ {
				ia, ib := i*lda+kk, kk*ldb+j
				if transA {
					ia = kk*lda + i
				}
				if transB {
					ib = j*ldb + kk
				}
				av, bv := a[ia], b[ib]
				p := float64(av) * float64(bv)
				s += p
				mag += math.Abs(p)
			}
			s *= float64(alpha)
			mag *= math.Abs(float64(alpha))
			if beta != 0 {
				cv := float64(beta) * float64(c0[i*ldc+j])
				s += cv
				mag += math.Abs(cv)
			}
			want[i*n+j] = s
			scale[i*n+j] = mag
		}
	}
	ws := make([]float32, SgemmWorkspaceSize(m, n, k))
	Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, dst[guard:], ldc, ws)
	// Elements between rows hold sentinels, as in dst before the call.
	checkOutput(t, dst, m, n, ldc, k, want, scale)
}

func TestMulPackedNoAlloc(t *testing.T) {
	for _, kern := range kernels() {
		withKernel(t, kern, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(15, 16))
			c := newMulCase(rng, 20, 300, 300, epiCases[7], 0)
			pa := PackA(c.m, c.k, c.a, c.lda)
			dst := make([]float32, c.m*c.ldc)
			ws := make([]float32, WorkspaceSize(c.k, c.n))
			allocs := testing.AllocsPerRun(10, func() {
				MulPacked(dst, c.ldc, pa, c.b, c.ldb, c.n, c.ep, ws)
			})
			if allocs != 0 {
				t.Errorf("MulPacked allocated %v times per call", allocs)
			}
		})
	}
}

func TestPanics(t *testing.T) {
	a := make([]float32, 100)
	pa := PackA(4, 5, a, 5)
	ws := make([]float32, WorkspaceSize(5, 6))
	dst := make([]float32, 4*6)
	b := make([]float32, 5*6)
	tests := []struct {
		name string
		f    func()
	}{
		{"PackA short", func() { PackA(30, 5, a, 5) }},
		{"PackA lda", func() { PackA(2, 5, a, 4) }},
		{"RowRange unaligned", func() { PackA(20, 5, a, 5).RowRange(1, 20) }},
		{"RowRange bounds", func() { pa.RowRange(0, 5) }},
		{"dst short", func() { MulPacked(dst[:20], 6, pa, b, 6, 6, nil, ws) }},
		{"ldc", func() { MulPacked(dst, 5, pa, b, 6, 6, nil, ws) }},
		{"b short", func() { MulPacked(dst, 6, pa, b[:29], 6, 6, nil, ws) }},
		{"ws short", func() { MulPacked(dst, 6, pa, b, 6, 6, nil, ws[:len(ws)-1]) }},
		{"bias short", func() { MulPacked(dst, 6, pa, b, 6, 6, &Epilogue{Bias: make([]float32, 3)}, ws) }},
		{"add short", func() { MulPacked(dst, 6, pa, b, 6, 6, &Epilogue{Add: make([]float32, 23), LdAdd: 6}, ws) }},
		{"Sgemm C short", func() { Sgemm(false, false, 4, 6, 5, 1, a, 5, b, 6, 0, dst[:23], 6, nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, ok := r.(string)
				if !ok || !strings.HasPrefix(msg, "gemm: ") {
					t.Fatalf("recovered %v, want a gemm: panic", r)
				}
			}()
			tt.f()
		})
	}
}

// TestMulPackedInPlaceResidual checks the documented aliasing of ep.Add
// with dst, across several K blocks.
func TestMulPackedInPlaceResidual(t *testing.T) {
	for _, kern := range kernels() {
		withKernel(t, kern, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(17, 18))
			for _, k := range []int{5, kc + 3, 3*kc + 1} {
				t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
					c := newMulCase(rng, 19, 77, k, epiCases[7], 0)
					c.ld = c.ldc
					c.add = randSlice(rng, (c.m-1)*c.ld+c.n)
					want, scale := c.reference()
					dst := guarded((c.m-1)*c.ldc+c.n, nil)
					for i := 0; i < c.m; i++ {
						copy(dst[guard+i*c.ldc:guard+i*c.ldc+c.n], c.add[i*c.ld:i*c.ld+c.n])
					}
					ep := *c.ep
					ep.Add, ep.LdAdd = dst[guard:], c.ldc
					pa := PackA(c.m, c.k, c.a, c.lda)
					MulPacked(dst[guard:], c.ldc, pa, c.b, c.ldb, c.n, &ep, make([]float32, WorkspaceSize(k, c.n)))
					checkOutput(t, dst, c.m, c.n, c.ldc, k, want, scale)
				})
			}
		})
	}
}

// TestMulPackedConcurrent runs column halves of one product on two
// goroutines sharing a PackedA, as the engine does.
func TestMulPackedConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	c := newMulCase(rng, 40, 301, 270, epiCases[8], 2)
	want, scale := c.reference()
	pa := PackA(c.m, c.k, c.a, c.lda)
	dst := guarded((c.m-1)*c.ldc+c.n, nil)
	half := c.n / 2
	done := make(chan struct{})
	for _, r := range [][2]int{{0, half}, {half, c.n}} {
		go func() {
			defer func() { done <- struct{}{} }()
			ep := *c.ep
			ep.Add = c.add[r[0]:]
			ws := make([]float32, WorkspaceSize(c.k, r[1]-r[0]))
			MulPacked(dst[guard+r[0]:], c.ldc, pa, c.b[r[0]:], c.ldb, r[1]-r[0], &ep, ws)
		}()
	}
	<-done
	<-done
	checkOutput(t, dst, c.m, c.n, c.ldc, c.k, want, scale)
}
