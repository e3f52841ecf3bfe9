package backbone

import (
	"errors"
	"fmt"
	"image"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestDecodeIntoBoundsLiveImages checks that decodeInto preprocesses each
// decoded image before its goroutine decodes the next: however large the
// batch, at most GOMAXPROCS decoded images exist at once. Decoding a whole
// batch before preprocessing any held the batch (8 by default) of images
// of up to MaxPixels each: Classify on 8 copies of an all-black 6000x6000
// 16-bit PNG (300 KB each) raised peak RSS from 301 to 2503 MiB that way,
// and to 1633 MiB with decodeInto (one run each, GOMAXPROCS=2).
func TestDecodeIntoBoundsLiveImages(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	for _, n := range []int{1, procs, 4*procs + 1} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			var mu sync.Mutex
			live, peak := 0, 0
			done := make([]bool, n)
			dec, pre, err := decodeInto(n, func(k int) (image.Image, error) {
				mu.Lock()
				live++
				peak = max(peak, live)
				mu.Unlock()
				time.Sleep(time.Millisecond) // let the other goroutines run
				return image.NewGray(image.Rect(0, 0, 1, 1)), nil
			}, func(k int, img image.Image) {
				mu.Lock()
				live--
				done[k] = true
				mu.Unlock()
			})
			if err != nil {
				t.Fatal(err)
			}
			if peak > procs {
				t.Errorf("%d decoded images alive at once, want at most GOMAXPROCS=%d", peak, procs)
			}
			for k, ok := range done {
				if !ok {
					t.Errorf("image %d not preprocessed", k)
				}
			}
			if dec <= 0 || pre < 0 {
				t.Errorf("stage times decode %v preprocess %v", dec, pre)
			}
		})
	}
}

// TestDecodeIntoLowestError checks that the error of the lowest failing
// index is returned whatever the scheduling, and that failed images are
// not preprocessed.
func TestDecodeIntoLowestError(t *testing.T) {
	const n = 16
	bad := map[int]bool{5: true, 9: true, 14: true}
	var mu sync.Mutex
	var preprocessed []int
	_, _, err := decodeInto(n, func(k int) (image.Image, error) {
		if bad[k] {
			return nil, &ImageError{Index: k, Err: errors.New("corrupt")}
		}
		return image.NewGray(image.Rect(0, 0, 1, 1)), nil
	}, func(k int, img image.Image) {
		mu.Lock()
		preprocessed = append(preprocessed, k)
		mu.Unlock()
	})
	var ie *ImageError
	if !errors.As(err, &ie) || ie.Index != 5 {
		t.Fatalf("error %v, want image 5's", err)
	}
	for _, k := range preprocessed {
		if bad[k] {
			t.Errorf("failed image %d was preprocessed", k)
		}
	}
}
