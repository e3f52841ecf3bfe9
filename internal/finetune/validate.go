package finetune

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/tlserve/tlserve/internal/dataset"
)

// ErrInvalidFiles is matched (errors.Is) by every *InvalidFilesError.
var ErrInvalidFiles = errors.New("invalid files in upload")

// FileError says why one uploaded file was refused.
type FileError struct {
	Name   string `json:"file"`
	Label  string `json:"label"`
	Reason string `json:"reason"`
	// Err is the underlying error, for callers that branch on it (for
	// example imageprep.ErrTooLarge).
	Err error `json:"-"`
}

// InvalidFilesError lists every refused file of an upload, in upload
// order.
type InvalidFilesError struct {
	Files []FileError
}

func (e *InvalidFilesError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d invalid file", len(e.Files))
	if len(e.Files) != 1 {
		b.WriteString("s")
	}
	for i, f := range e.Files {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%q (label %q): %s", f.Name, f.Label, f.Reason)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalidFiles) true.
func (e *InvalidFilesError) Is(target error) bool { return target == ErrInvalidFiles }

// DecodeFunc checks that b is a decodable image within the pixel limit,
// typically by decoding it with imageprep.Decode.
type DecodeFunc func(b []byte) error

// Validate checks every example: its label (dataset.ValidateLabel) and its
// image (decode). Images are decoded in parallel on GOMAXPROCS goroutines.
// It returns dataset.ErrNoExamples for an empty upload, an
// *InvalidFilesError naming every bad file, or ctx.Err(). It does not
// count classes.
func Validate(ctx context.Context, examples []dataset.Example, decode DecodeFunc) error {
	if len(examples) == 0 {
		return dataset.ErrNoExamples
	}
	errs := make([]error, len(examples))
	labelOK := make(map[string]error)
	for i, e := range examples {
		err, seen := labelOK[e.Label]
		if !seen {
			err = dataset.ValidateLabel(e.Label)
			labelOK[e.Label] = err
		}
		errs[i] = err
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(examples)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := decode(examples[i].Data); err != nil {
					errs[i] = err
				}
			}
		}()
	}
feed:
	for i := range examples {
		if errs[i] != nil {
			continue
		}
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	var bad []FileError
	for i, err := range errs {
		if err != nil {
			bad = append(bad, FileError{Name: examples[i].Name, Label: examples[i].Label, Reason: err.Error(), Err: err})
		}
	}
	if len(bad) > 0 {
		return &InvalidFilesError{Files: bad}
	}
	return nil
}
