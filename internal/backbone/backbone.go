package backbone

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tlserve/tlserve/internal/imageprep"
	"github.com/tlserve/tlserve/internal/manifest"
	"github.com/tlserve/tlserve/internal/onnxmodel"
)

// Stages reported to a StageObserver.
const (
	StageDecode     = "decode"
	StagePreprocess = "preprocess"
	StageBackbone   = "backbone"
)

// StageObserver receives the duration of each inference stage of a call;
// *metrics.Metrics implements it.
type StageObserver interface {
	ObserveStage(stage string, d time.Duration)
}

// ErrNoLabels is returned by New when the model has a classifier but its
// manifest names no labels file, or the file's line count differs from
// the number of classes.
var ErrNoLabels = errors.New("backbone: labels do not match the classifier")

// DefaultBatchSize is the number of images run through the network at once
// when Options.BatchSize is zero. Larger batches amortize per-run overhead
// but hold more decoded images in memory.
const DefaultBatchSize = 8

// Options configures New.
type Options struct {
	// ModelPath is the ONNX file; its manifest (same base name, .json)
	// and labels file sit beside it.
	ModelPath string
	// Threads is the number of goroutines one network run uses; 0 means
	// all CPUs.
	Threads int
	// MaxPixels bounds width*height of one decoded image; 0 means
	// imageprep.DefaultMaxPixels.
	MaxPixels int
	// BatchSize is the number of images per network run; 0 means
	// DefaultBatchSize.
	BatchSize int
	// Observer receives stage timings; nil discards them.
	Observer StageObserver
	// Logger receives load information; nil discards it.
	Logger *slog.Logger
}

// Validate reports whether o can be used: a model path is given and no
// number is negative.
func (o Options) Validate() error {
	switch {
	case o.ModelPath == "":
		return errors.New("backbone: ModelPath is required")
	case o.Threads < 0, o.MaxPixels < 0, o.BatchSize < 0:
		return errors.New("backbone: Threads, MaxPixels and BatchSize must not be negative")
	}
	return nil
}

// Backbone runs a pretrained network on images. It is safe for
// concurrent use.
type Backbone struct {
	model     *onnxmodel.Model
	path      string
	name      string
	labels    []string
	spec      imageprep.Spec
	maxPixels int
	batch     int
	obs       StageObserver

	preps sync.Pool // *imageprep.Preprocessor
	bufs  sync.Pool // *buffers
}

// buffers are one call's reusable input tensor and features.
type buffers struct {
	input []float32
	feat  onnxmodel.Features
}

// Result holds the features of one image.
type Result struct {
	// Embedding is the backbone's representation of the image, Dim()
	// values.
	Embedding []float32
	// Probs are the backbone's own class probabilities, indexed like
	// Labels().
	Probs []float32
}

// ImageError reports which image of a batch could not be decoded. It
// wraps the imageprep error (ErrEmpty, ErrCorrupt, ErrUnsupportedFormat,
// ErrTooLarge).
type ImageError struct {
	Index int
	Err   error
}

func (e *ImageError) Error() string { return fmt.Sprintf("image %d: %v", e.Index, e.Err) }

// Unwrap returns the decoding error.
func (e *ImageError) Unwrap() error { return e.Err }

// ImageIndex returns the index of the failed image in the call's batch.
func (e *ImageError) ImageIndex() int { return e.Index }

// New loads the model at o.ModelPath with its manifest and labels. It
// returns an error wrapping onnxmodel.ErrInvalidModel or ErrUnsupported for
// a model it cannot run, manifest.ErrInvalid for a bad manifest, ErrNoLabels
// when the labels do not fit the classifier, and an fs error for a missing
// file.
func New(o Options) (*Backbone, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	man, err := manifest.ForModel(o.ModelPath)
	if err != nil {
		return nil, fmt.Errorf("backbone: %w", err)
	}
	spec := man.Spec()
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("backbone: manifest of %s: %w", o.ModelPath, err)
	}
	var labels []string
	if man.Labels != "" {
		if labels, err = man.LoadLabels(filepath.Dir(o.ModelPath)); err != nil {
			return nil, fmt.Errorf("backbone: %w", err)
		}
	}
	model, err := onnxmodel.Load(o.ModelPath, onnxmodel.Options{Threads: o.Threads, Embedding: man.Embedding})
	if err != nil {
		return nil, fmt.Errorf("backbone: load %s: %w", o.ModelPath, err)
	}
	b := &Backbone{model: model, path: o.ModelPath, name: man.Name, labels: labels, spec: spec, maxPixels: o.MaxPixels, batch: o.BatchSize, obs: o.Observer}
	if err := b.check(); err != nil {
		model.Close()
		return nil, err
	}
	if b.batch == 0 {
		b.batch = DefaultBatchSize
	}
	if b.obs == nil {
		b.obs = nopObserver{}
	}
	b.preps.New = func() any {
		p, err := imageprep.NewPreprocessor(spec)
		if err != nil {
			panic("backbone: spec validated in New: " + err.Error())
		}
		return p
	}
	b.bufs.New = func() any { return new(buffers) }
	if o.Logger != nil {
		o.Logger.Info("backbone loaded", "name", b.name, "id", b.ID(), "input_size", spec.InputSize,
			"embedding_dim", b.Dim(), "classes", b.model.NumClasses())
	}
	return b, nil
}

// check verifies that the manifest, labels and model agree.
func (b *Backbone) check() error {
	shape := b.model.InputShape()
	if len(shape) != 3 || shape[0] != 3 || shape[1] != b.spec.InputSize || shape[2] != b.spec.InputSize {
		return fmt.Errorf("backbone: %w: model input %v does not match the manifest's input size %d", onnxmodel.ErrUnsupported, shape, b.spec.InputSize)
	}
	n := b.model.NumClasses()
	switch {
	case n > 0 && len(b.labels) == 0:
		return fmt.Errorf("%w: the model has %d classes but its manifest %s names no labels file (see models/README.md)",
			ErrNoLabels, n, manifest.Path(b.path))
	case n != len(b.labels):
		return fmt.Errorf("%w: %d labels for %d classes", ErrNoLabels, len(b.labels), n)
	}
	return nil
}

// Close releases the model. No call may be in flight.
func (b *Backbone) Close() error { return b.model.Close() }

// ID returns the hex SHA-256 of the model file, which identifies the
// backbone in embedding caches and model versions.
func (b *Backbone) ID() string { return b.model.ID() }

// Name returns the manifest's model name.
func (b *Backbone) Name() string { return b.name }

// Dim returns the embedding length.
func (b *Backbone) Dim() int { return b.model.EmbeddingDim() }

// Labels returns the class names of the backbone's classifier; callers
// must not modify the slice.
func (b *Backbone) Labels() []string { return b.labels }

// InputSize returns the side of the square network input.
func (b *Backbone) InputSize() int { return b.spec.InputSize }

// Features returns the embedding and class probabilities of each image.
// It returns an *ImageError for an image that cannot be decoded, and
// ctx.Err() when ctx ends first.
func (b *Backbone) Features(ctx context.Context, images [][]byte) ([]Result, error) {
	out := make([]Result, len(images))
	err := b.run(ctx, images, func(i int, f *onnxmodel.Features, k int) {
		out[i].Embedding = row(f.Embedding, k, b.Dim())
		out[i].Probs = row(f.Probs, k, len(b.labels))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Embed returns the embedding of each image, with Features' errors.
func (b *Backbone) Embed(ctx context.Context, images [][]byte) ([][]float32, error) {
	out := make([][]float32, len(images))
	err := b.run(ctx, images, func(i int, f *onnxmodel.Features, k int) {
		out[i] = row(f.Embedding, k, b.Dim())
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Classify returns the class probabilities of each image, indexed like
// Labels(), with Features' errors.
func (b *Backbone) Classify(ctx context.Context, images [][]byte) ([][]float32, error) {
	out := make([][]float32, len(images))
	err := b.run(ctx, images, func(i int, f *onnxmodel.Features, k int) {
		out[i] = row(f.Probs, k, len(b.labels))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Warmup runs the network once on a blank image, so that the first
// request does not pay for plan compilation and buffer allocation.
func (b *Backbone) Warmup(ctx context.Context) error {
	img := image.NewGray(image.Rect(0, 0, b.spec.InputSize, b.spec.InputSize))
	bufs := b.bufs.Get().(*buffers)
	defer b.bufs.Put(bufs)
	bufs.input = grow(bufs.input, b.spec.Len())
	p := b.preps.Get().(*imageprep.Preprocessor)
	p.Preprocess(bufs.input, img)
	b.preps.Put(p)
	if err := b.model.Extract(ctx, &bufs.feat, bufs.input, 1); err != nil {
		return fmt.Errorf("backbone: warm-up: %w", err)
	}
	return nil
}

// run processes images in batches and calls emit(i, features, k) for
// image i, the k-th of the current batch. emit must copy what it keeps.
// Decoding and preprocessing are single-threaded per image and cost about
// as much as the network for a photo, so the images of a batch are each
// decoded and preprocessed in turn on up to GOMAXPROCS goroutines.
func (b *Backbone) run(ctx context.Context, images [][]byte, emit func(i int, f *onnxmodel.Features, k int)) error {
	bufs := b.bufs.Get().(*buffers)
	defer b.bufs.Put(bufs)
	per := b.spec.Len()
	for start := 0; start < len(images); start += b.batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(start+b.batch, len(images))
		n := end - start

		input := grow(bufs.input, n*per)
		bufs.input = input
		t := time.Now()
		dec, pre, err := decodeInto(n, func(k int) (image.Image, error) {
			img, err := imageprep.Decode(images[start+k], imageprep.DecodeOptions{MaxPixels: b.maxPixels})
			if err != nil {
				return nil, &ImageError{Index: start + k, Err: err}
			}
			return img, nil
		}, func(k int, img image.Image) {
			p := b.preps.Get().(*imageprep.Preprocessor)
			p.Preprocess(input[k*per:(k+1)*per], img)
			b.preps.Put(p)
		})
		if err != nil {
			return err
		}
		// The two stages overlap across goroutines: split the wall time
		// between them in proportion to the time each took.
		wall := time.Since(t)
		decWall := wall
		if dec+pre > 0 {
			decWall = time.Duration(float64(wall) * float64(dec) / float64(dec+pre))
		}
		b.obs.ObserveStage(StageDecode, decWall)
		b.obs.ObserveStage(StagePreprocess, wall-decWall)

		t = time.Now()
		if err := b.model.Extract(ctx, &bufs.feat, input[:n*per], n); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("backbone: %w", err)
		}
		b.obs.ObserveStage(StageBackbone, time.Since(t))

		for k := range n {
			emit(start+k, &bufs.feat, k)
		}
	}
	return nil
}

// decodeInto decodes and preprocesses n images on up to GOMAXPROCS
// goroutines. Each goroutine preprocesses the image it has just decoded
// and drops it before decoding the next, so at most GOMAXPROCS decoded
// images (each up to MaxPixels, 8 bytes a pixel for 16-bit PNGs) are alive
// per call rather than a whole batch. It returns the summed time spent in
// decode and in preprocess, and the error of the lowest index that failed.
func decodeInto(n int, decode func(k int) (image.Image, error), preprocess func(k int, img image.Image)) (dec, pre time.Duration, err error) {
	var decNS, preNS atomic.Int64
	err = parallel(n, func(k int) error {
		t := time.Now()
		img, err := decode(k)
		t2 := time.Now()
		decNS.Add(int64(t2.Sub(t)))
		if err != nil {
			return err
		}
		preprocess(k, img)
		preNS.Add(int64(time.Since(t2)))
		return nil
	})
	return time.Duration(decNS.Load()), time.Duration(preNS.Load()), err
}

// parallel calls f(0..n-1) on up to GOMAXPROCS goroutines and returns the
// error of the lowest index that failed, so the reported image does not
// depend on scheduling.
func parallel(n int, f func(k int) error) error {
	workers := min(n, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for k := range n {
			if err := f(k); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= n {
					return
				}
				errs[k] = f(k)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// row copies the k-th row of width w out of a row-major batch.
func row(s []float32, k, w int) []float32 {
	return append([]float32(nil), s[k*w:(k+1)*w]...)
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

type nopObserver struct{}

func (nopObserver) ObserveStage(string, time.Duration) {}
