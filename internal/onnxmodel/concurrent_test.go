package onnxmodel

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tlserve/tlserve/internal/refdata"
)

// TestConcurrentExtract runs many Extract calls of mixed batch sizes at
// once on one Model and checks each against a serial run; run it with
// -race to check that runs share no buffers.
func TestConcurrentExtract(t *testing.T) {
	m := residualNet(t, 3).parse(t, Options{Threads: 2})
	r := rand.New(rand.NewPCG(11, 12))
	const per = 3 * 16 * 16
	batches := make([][]float32, 6)
	want := make([]Features, len(batches))
	for i := range batches {
		n := i%3 + 1
		batches[i] = randFloats(r, n*per)
		if err := m.Extract(context.Background(), &want[i], batches[i], n); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var f Features
			for it := range 10 {
				i := (g + it) % len(batches)
				n := len(batches[i]) / per
				if err := m.Extract(context.Background(), &f, batches[i], n); err != nil {
					errs <- err
					return
				}
				if fmt.Sprint(f.Embedding) != fmt.Sprint(want[i].Embedding) || fmt.Sprint(f.Probs) != fmt.Sprint(want[i].Probs) {
					errs <- fmt.Errorf("goroutine %d, batch %d: result differs from the serial run", g, i)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestSqueezeNetBatch checks that a batch of two images gives the same
// features as two single-image runs, and the embedding's size.
func TestSqueezeNetBatch(t *testing.T) {
	shared := refdata.Dir(t)
	fish, _, _ := bgrPlanes(t, filepath.Join(shared, "data", "images", "fish.png"))
	kitten, _, _ := bgrPlanes(t, filepath.Join(shared, "data", "images", "kitten_224.png"))
	m := loadSqueezeNet(t, 2)
	// conv10 reads fire9/concat_2, the output of a Dropout of fire9/concat_1.
	if m.EmbeddingName() != "fire9/concat_1" {
		t.Errorf("embedding %q, want fire9/concat_1 (the input of conv10, before its Dropout)", m.EmbeddingName())
	}
	var both Features
	if err := m.Extract(context.Background(), &both, append(append([]float32(nil), fish...), kitten...), 2); err != nil {
		t.Fatal(err)
	}
	for i, img := range [][]float32{fish, kitten} {
		var one Features
		if err := m.Extract(context.Background(), &one, img, 1); err != nil {
			t.Fatal(err)
		}
		d, c := m.EmbeddingDim(), m.NumClasses()
		if k, ok := closeTo(both.Embedding[i*d:(i+1)*d], one.Embedding, 1e-5); !ok {
			t.Errorf("image %d: batched embedding[%d] = %g, single %g", i, k, both.Embedding[i*d+k], one.Embedding[k])
		}
		if k, ok := closeTo(both.Probs[i*c:(i+1)*c], one.Probs, 1e-5); !ok {
			t.Errorf("image %d: batched probs[%d] = %g, single %g", i, k, both.Probs[i*c+k], one.Probs[k])
		}
	}
	if argmax(both.Probs[:1000]) == argmax(both.Probs[1000:]) {
		t.Errorf("fish and kitten get the same top class %d", argmax(both.Probs[:1000]))
	}
}
