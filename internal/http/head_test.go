package http_test

import (
	"testing"

	"github.com/tlserve/tlserve/internal/head"
)

// newHead returns a head over the fake backbone's 4-dim embedding [r,g,b,1]
// that answers "warm" for red images and "cold" for green or blue ones.
func newHead(t testing.TB) *head.Head {
	t.Helper()
	return &head.Head{
		Labels: []string{"warm", "cold"}, InputDim: 4,
		Mean: []float32{0, 0, 0, 0}, Std: []float32{1, 1, 1, 1},
		// W2 is InputDim x classes, row-major.
		W2: []float32{5, 0, 0, 5, 0, 5, 0, 0},
		B2: []float32{0, 0},
	}
}
