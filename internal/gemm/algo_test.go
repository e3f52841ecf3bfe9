package gemm

import (
	"fmt"
	"testing"
)

func TestConv3x3Algo(t *testing.T) {
	for _, tt := range []struct {
		c, k, h, w, batch int
		want              Algo
	}{
		{64, 64, 56, 56, 1, AlgoWinograd4x4},
		{128, 128, 28, 28, 1, AlgoWinograd4x4},
		{256, 256, 14, 14, 1, AlgoWinograd2x2},
		{256, 256, 14, 14, 8, AlgoWinograd2x2},
		{512, 512, 7, 7, 1, AlgoIm2col},
		{512, 512, 7, 7, 4, AlgoIm2col},
		{512, 512, 7, 7, 8, AlgoWinograd4x4},
		{8, 8, 56, 56, 1, AlgoWinograd4x4},
		{0, 64, 56, 56, 1, AlgoIm2col},
		{64, 64, 0, 56, 1, AlgoIm2col},
	} {
		t.Run(fmt.Sprintf("c=%d/k=%d/%dx%d/n=%d", tt.c, tt.k, tt.h, tt.w, tt.batch), func(t *testing.T) {
			if got := Conv3x3Algo(tt.c, tt.k, tt.h, tt.w, tt.batch); got != tt.want {
				t.Errorf("Conv3x3Algo = %v, want %v", got, tt.want)
			}
		})
	}
	for a, want := range map[Algo]string{AlgoIm2col: "im2col", AlgoWinograd2x2: "winograd2x2", AlgoWinograd4x4: "winograd4x4", 9: "unknown"} {
		if a.String() != want {
			t.Errorf("Algo(%d).String() = %q, want %q", a, a.String(), want)
		}
	}
}
