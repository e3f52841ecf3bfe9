package modelgen

import "math"

// Rand is a PCG32 (XSH-RR) pseudo-random generator. Unlike math/rand's
// generators its stream is fixed by its definition here, so the weights of a
// generated model never change with the Go version.
type Rand struct {
	state, inc uint64
}

const (
	pcgMult = 6364136223846793005
	// pcgStream is the fixed stream selector; seeds pick the start.
	pcgStream = 0xda3e39cb94b95bdb
)

// NewRand returns a generator seeded with seed, following the reference
// pcg32_srandom_r(seed, pcgStream).
func NewRand(seed uint64) *Rand {
	return newRandStream(seed, pcgStream)
}

// newRandStream is pcg32_srandom_r(seed, stream).
func newRandStream(seed, stream uint64) *Rand {
	r := &Rand{inc: stream<<1 | 1}
	r.Uint32()
	r.state += seed
	r.Uint32()
	return r
}

// Uint32 returns the next 32 random bits.
func (r *Rand) Uint32() uint32 {
	old := r.state
	r.state = old*pcgMult + r.inc
	xorshifted := uint32(((old >> 18) ^ old) >> 27)
	rot := uint32(old >> 59)
	return xorshifted>>rot | xorshifted<<((-rot)&31)
}

// Float64 returns a uniform value in [0, 1) with 32 random bits.
func (r *Rand) Float64() float64 {
	return float64(r.Uint32()) * (1.0 / (1 << 32))
}

// Uniform returns a uniform value in [lo, hi).
func (r *Rand) Uniform(lo, hi float64) float64 {
	return lo + (hi-lo)*r.Float64()
}

// seedFor derives the seed of one named tensor: FNV-1a of the name mixed
// with the model seed, so adding or reordering tensors leaves the others
// unchanged.
func seedFor(seed uint64, name string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	return h ^ (seed * 0x9e3779b97f4a7c15)
}

// Input fills dst with the deterministic test input for seed: values uniform
// in [-√3, √3) (zero mean, unit variance, like a normalized image) drawn in
// order from NewRand(seed). Tests use it for batches of any size; the first
// image of a batch is the same whatever the batch size.
func Input(dst []float32, seed uint64) {
	r := NewRand(seed)
	a := math.Sqrt(3)
	for i := range dst {
		dst[i] = float32(r.Uniform(-a, a))
	}
}
