package finetune

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/tlserve/tlserve/internal/dataset"
	"github.com/tlserve/tlserve/internal/head"
	"github.com/tlserve/tlserve/internal/imageprep"
	"github.com/tlserve/tlserve/internal/jobs"
	"github.com/tlserve/tlserve/internal/store"
)

// Embedder computes backbone embeddings; *backbone.Backbone implements it.
// ID identifies the backbone (the SHA-256 of its model file), so that
// embeddings of another backbone are never reused.
type Embedder interface {
	Embed(ctx context.Context, images [][]byte) ([][]float32, error)
	ID() string
}

// Store is the part of *store.Store a job uses.
type Store interface {
	Dataset(name string) (store.Dataset, error)
	SaveDataset(name string, d store.Dataset) error
	Embeddings(backboneID string, keys []store.Key) ([][]float32, error)
	PutEmbeddings(backboneID string, keys []store.Key, vecs [][]float32) error
	SaveVersion(name string, h *head.Head, v store.VersionInfo) (store.VersionInfo, error)
	Activate(name string, version int) error
}

// Observer counts uploaded images whose embedding was computed by the
// backbone or reused from the cache; *metrics.Metrics implements it.
type Observer interface {
	AddEmbeddings(computed, reused int)
}

// TrainFunc trains a head; head.Train is the default.
type TrainFunc func(ctx context.Context, x [][]float32, y []int, labels []string, h head.Hyper, progress func(head.EpochMetrics)) (*head.Head, *head.Result, error)

// Default option values.
const (
	DefaultEmbedBatch = 1
	DefaultFlushEvery = 256
)

// Options configures New. Store and Embedder are required.
type Options struct {
	Store    Store
	Embedder Embedder
	// Decode checks an uploaded image up front; nil means imageprep.Decode
	// with MaxPixels.
	Decode DecodeFunc
	// MaxPixels is the pixel limit of the default Decode; 0 means
	// imageprep's default.
	MaxPixels int
	// Train trains the head; nil means head.Train.
	Train    TrainFunc
	Observer Observer
	// EmbedBatch is how many images go to one Embed call. Cancellation is
	// checked between calls, so a batch should take well under a second;
	// the default is DefaultEmbedBatch.
	EmbedBatch int
	// FlushEvery is how many computed embeddings are buffered before they
	// are written to the cache, so that the work of a canceled or failed
	// job is reused later; the default is DefaultFlushEvery.
	FlushEvery int
	Logger     *slog.Logger
}

// Service validates fine-tune requests and runs them as jobs: it is the
// jobs.Runner of a jobs.Manager.
type Service struct {
	o   Options
	log *slog.Logger
}

// New returns a Service. It returns an error if a required option is
// missing.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Embedder == nil {
		return nil, errors.New("finetune: Store and Embedder are required")
	}
	if o.EmbedBatch < 0 || o.FlushEvery < 0 || o.MaxPixels < 0 {
		return nil, errors.New("finetune: negative option")
	}
	if o.Decode == nil {
		opt := imageprep.DecodeOptions{MaxPixels: o.MaxPixels}
		o.Decode = func(b []byte) error {
			_, err := imageprep.Decode(b, opt)
			return err
		}
	}
	if o.Train == nil {
		o.Train = head.Train
	}
	if o.EmbedBatch == 0 {
		o.EmbedBatch = DefaultEmbedBatch
	}
	if o.FlushEvery == 0 {
		o.FlushEvery = DefaultFlushEvery
	}
	s := &Service{o: o, log: o.Logger}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return s, nil
}

var _ jobs.Runner = (*Service)(nil)

// upload is one distinct uploaded image.
type upload struct {
	key store.Key
	ex  dataset.Example
}

// Prepare validates a fine-tune request and returns the job to queue; a
// jobs.Manager calls it synchronously in Submit. A zero spec.Hyper means
// head.DefaultHyper(). It returns an error wrapping store.ErrInvalidName
// or store.ErrReservedName for a bad model name, head.ErrInvalidHyper for
// bad hyperparameters, dataset.ErrNoExamples for an empty upload, an
// *InvalidFilesError (matching ErrInvalidFiles) naming every file that is
// not a valid image, has a bad label, or repeats an image under another
// label, and dataset.ErrTooFewClasses when the final training set (the
// upload merged with the stored dataset unless spec.Replace) has fewer
// than two classes.
func (s *Service) Prepare(ctx context.Context, spec jobs.Spec) (jobs.Work, error) {
	if err := store.ValidateName(spec.Model); err != nil {
		return jobs.Work{}, err
	}
	if spec.Hyper == (head.Hyper{}) {
		spec.Hyper = head.DefaultHyper()
	}
	if err := spec.Hyper.Validate(); err != nil {
		return jobs.Work{}, err
	}
	if err := Validate(ctx, spec.Examples, s.o.Decode); err != nil {
		return jobs.Work{}, err
	}
	uploads, err := distinct(spec.Examples)
	if err != nil {
		return jobs.Work{}, err
	}
	_, summary, err := s.merge(spec, uploads)
	if err != nil {
		return jobs.Work{}, err
	}
	return jobs.Work{
		Hyper:   spec.Hyper,
		Dataset: summary,
		Run: func(ctx context.Context, r jobs.Reporter) (jobs.Result, error) {
			return s.run(ctx, r, spec, uploads)
		},
	}, nil
}

// distinct drops repeated images (same bytes, same label) and reports an
// image uploaded under two labels as invalid.
func distinct(examples []dataset.Example) ([]upload, error) {
	first := make(map[store.Key]int)
	var out []upload
	var bad []FileError
	for _, e := range examples {
		k := store.KeyOf(e.Data)
		if i, ok := first[k]; ok {
			if prev := out[i].ex; prev.Label != e.Label {
				bad = append(bad, FileError{Name: e.Name, Label: e.Label,
					Reason: fmt.Sprintf("same image as %q, labeled %q", prev.Name, prev.Label)})
			}
			continue
		}
		first[k] = len(out)
		out = append(out, upload{key: k, ex: e})
	}
	if len(bad) > 0 {
		return nil, &InvalidFilesError{Files: bad}
	}
	return out, nil
}

// merge combines the stored dataset (unless req.Replace, and only if it
// was built with the current backbone) with the uploads, which override
// the label of an image already present. It returns dataset.ErrTooFewClasses
// if fewer than two classes result.
func (s *Service) merge(req jobs.Spec, uploads []upload) ([]store.Entry, jobs.DatasetSummary, error) {
	backboneID := s.o.Embedder.ID()
	var entries []store.Entry
	if !req.Replace {
		stored, err := s.o.Store.Dataset(req.Model)
		if err != nil {
			return nil, jobs.DatasetSummary{}, fmt.Errorf("finetune: load dataset: %w", err)
		}
		switch {
		case len(stored.Entries) == 0:
		case stored.BackboneID == backboneID:
			entries = append(entries, stored.Entries...)
		default:
			s.log.Warn("stored dataset was embedded by another backbone and is not reused",
				"model", req.Model, "images", len(stored.Entries), "stored_backbone", stored.BackboneID, "backbone", backboneID)
		}
	}
	pos := make(map[string]int, len(entries))
	for i, e := range entries {
		pos[e.SHA256] = i
	}
	added := 0
	for _, u := range uploads {
		e := store.Entry{SHA256: u.key.String(), Label: u.ex.Label, Name: u.ex.Name}
		if i, ok := pos[e.SHA256]; ok {
			entries[i] = e
			continue
		}
		pos[e.SHA256] = len(entries)
		entries = append(entries, e)
		added++
	}
	summary := summarize(entries, added)
	if len(summary.Classes) < 2 {
		return nil, summary, fmt.Errorf("%w in the training set of %q, got %d (%v); upload images of at least 2 classes",
			dataset.ErrTooFewClasses, req.Model, len(summary.Classes), dataset.Labels(summary.Classes))
	}
	return entries, summary, nil
}

func summarize(entries []store.Entry, added int) jobs.DatasetSummary {
	d := jobs.DatasetSummary{Images: len(entries), New: added, Classes: make(map[string]int)}
	for _, e := range entries {
		d.Classes[e.Label]++
	}
	return d
}
