package onnxmodel

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestExtractBatchMatchesImages checks Extract's batch paths (images in
// parallel on single-threaded plans, then the remainder on all threads)
// against one Extract per image, for batch sizes around the thread count.
func TestExtractBatchMatchesImages(t *testing.T) {
	g := residualNet(t, 4)
	r := rand.New(rand.NewPCG(4, 4))
	for _, threads := range []int{1, 2, 3} {
		m := g.parse(t, Options{Threads: threads})
		for _, n := range []int{2, 3, 4, 7} {
			t.Run(fmt.Sprintf("threads=%d/n=%d", threads, n), func(t *testing.T) {
				img := randFloats(r, n*3*16*16)
				var f Features
				if err := m.Extract(context.Background(), &f, img, n); err != nil {
					t.Fatal(err)
				}
				for i := range n {
					var one Features
					if err := m.Extract(context.Background(), &one, img[i*768:(i+1)*768], 1); err != nil {
						t.Fatal(err)
					}
					if k, ok := closeTo(f.Embedding[i*12:(i+1)*12], one.Embedding, 1e-6); !ok {
						t.Fatalf("image %d embedding[%d]: batch %g, alone %g", i, k, f.Embedding[i*12+k], one.Embedding[k])
					}
					if k, ok := closeTo(f.Probs[i*10:(i+1)*10], one.Probs, 1e-6); !ok {
						t.Fatalf("image %d probs[%d]: batch %g, alone %g", i, k, f.Probs[i*10+k], one.Probs[k])
					}
				}
			})
		}
	}
}

// TestExtractBatchCanceled checks that a cancelled context stops a batch
// on every path with the context's error.
func TestExtractBatchCanceled(t *testing.T) {
	g := residualNet(t, 4)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, threads := range []int{1, 2} {
		m := g.parse(t, Options{Threads: threads})
		for _, n := range []int{1, 4, 5} {
			var f Features
			err := m.Extract(ctx, &f, make([]float32, n*768), n)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("threads=%d n=%d: got %v, want context.Canceled", threads, n, err)
			}
		}
	}
}
