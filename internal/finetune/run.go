package finetune

import (
	"context"
	"fmt"

	"github.com/tlserve/tlserve/internal/dataset"
	"github.com/tlserve/tlserve/internal/head"
	"github.com/tlserve/tlserve/internal/jobs"
	"github.com/tlserve/tlserve/internal/store"
)

// Progress phases reported by a job.
const (
	PhaseEmbedding = "embedding"
	PhaseTraining  = "training"
)

// run is the body of a job.
func (s *Service) run(ctx context.Context, r jobs.Reporter, req jobs.Spec, uploads []upload) (jobs.Result, error) {
	// The stored dataset may have changed since Submit: merge again.
	entries, summary, err := s.merge(req, uploads)
	if err != nil {
		return jobs.Result{}, err
	}
	r.Dataset(summary)
	backboneID := s.o.Embedder.ID()

	vecs, err := s.embed(ctx, r, backboneID, uploads)
	if err != nil {
		return jobs.Result{}, err
	}
	x, y, labels, entries, err := s.trainingSet(req.Model, backboneID, entries, uploads, vecs)
	if err != nil {
		return jobs.Result{}, err
	}
	if len(entries) != summary.Images {
		r.Dataset(summarize(entries, summary.New))
	}

	epochs := req.Hyper.Epochs
	r.Progress(PhaseTraining, 0, epochs)
	h, res, err := s.o.Train(ctx, x, y, labels, req.Hyper, func(m head.EpochMetrics) {
		r.Epoch(m)
		r.Progress(PhaseTraining, m.Epoch, epochs)
	})
	if err != nil {
		if ctx.Err() != nil {
			return jobs.Result{}, ctx.Err()
		}
		return jobs.Result{}, fmt.Errorf("train: %w", err)
	}
	// Last point of no return: nothing is saved for a canceled job.
	if err := ctx.Err(); err != nil {
		return jobs.Result{}, err
	}
	if err := s.o.Store.SaveDataset(req.Model, store.Dataset{BackboneID: backboneID, Entries: entries}); err != nil {
		return jobs.Result{}, err
	}
	v := store.VersionInfo{
		Labels:       labels,
		Hyper:        req.Hyper,
		Metrics:      res.Metrics,
		History:      res.History,
		BackboneID:   backboneID,
		EmbeddingDim: len(x[0]),
		TrainSize:    res.Metrics.TrainSize,
		ValSize:      res.Metrics.ValSize,
		JobID:        r.ID(),
	}
	if n, ok := s.o.Embedder.(interface{ Name() string }); ok {
		v.BackboneName = n.Name()
	}
	v, err = s.o.Store.SaveVersion(req.Model, h, v)
	if err != nil {
		return jobs.Result{}, err
	}
	if err := s.o.Store.Activate(req.Model, v.Version); err != nil {
		return jobs.Result{}, err
	}
	return jobs.Result{Version: v.Version, Metrics: res.Metrics}, nil
}

// embed returns the embedding of every upload, from the cache or computed
// by the backbone, reporting progress per image. Computed embeddings are
// written to the cache every FlushEvery images and when embedding stops
// for any reason, so the work is not lost. Image bytes are released as
// soon as they are embedded.
func (s *Service) embed(ctx context.Context, r jobs.Reporter, backboneID string, uploads []upload) ([][]float32, error) {
	total := len(uploads)
	r.Progress(PhaseEmbedding, 0, total)
	keys := make([]store.Key, total)
	for i, u := range uploads {
		keys[i] = u.key
	}
	vecs, err := s.o.Store.Embeddings(backboneID, keys)
	if err != nil {
		return nil, fmt.Errorf("finetune: read embedding cache: %w", err)
	}
	var missing []int
	for i, v := range vecs {
		if v == nil {
			missing = append(missing, i)
		} else {
			uploads[i].ex.Data = nil
		}
	}
	reused := total - len(missing)
	done := reused
	r.Progress(PhaseEmbedding, done, total)

	var pendKeys []store.Key
	var pendVecs [][]float32
	computed := 0
	flush := func() error {
		if len(pendKeys) == 0 {
			return nil
		}
		err := s.o.Store.PutEmbeddings(backboneID, pendKeys, pendVecs)
		pendKeys, pendVecs = nil, nil
		return err
	}
	defer func() {
		if err := flush(); err != nil {
			s.log.Warn("could not cache embeddings", "err", err)
		}
		if s.o.Observer != nil {
			s.o.Observer.AddEmbeddings(computed, reused)
		}
	}()
	batch := make([][]byte, 0, s.o.EmbedBatch)
	for start := 0; start < len(missing); start += s.o.EmbedBatch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		idx := missing[start:min(start+s.o.EmbedBatch, len(missing))]
		batch = batch[:0]
		for _, i := range idx {
			batch = append(batch, uploads[i].ex.Data)
		}
		out, err := s.o.Embedder.Embed(ctx, batch)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if len(idx) == 1 {
				return nil, fmt.Errorf("embed %q: %w", uploads[idx[0]].ex.Name, err)
			}
			return nil, fmt.Errorf("embed: %w", err)
		}
		if len(out) != len(idx) {
			return nil, fmt.Errorf("finetune: backbone returned %d embeddings for %d images", len(out), len(idx))
		}
		for j, i := range idx {
			vecs[i] = out[j]
			uploads[i].ex.Data = nil
			pendKeys = append(pendKeys, keys[i])
			pendVecs = append(pendVecs, out[j])
		}
		computed += len(idx)
		done += len(idx)
		r.Progress(PhaseEmbedding, done, total)
		if len(pendKeys) >= s.o.FlushEvery {
			if err := flush(); err != nil {
				return nil, fmt.Errorf("finetune: cache embeddings: %w", err)
			}
		}
	}
	return vecs, nil
}

// trainingSet assembles the examples: uploads use the vectors just
// obtained, other stored entries are read from the cache. Stored entries
// whose embedding is missing (a damaged cache) are dropped with a warning.
// It returns dataset.ErrTooFewClasses if fewer than two classes remain.
func (s *Service) trainingSet(model, backboneID string, entries []store.Entry, uploads []upload, fresh [][]float32) (x [][]float32, y []int, labels []string, kept []store.Entry, err error) {
	vecs := make([][]float32, len(entries))
	byKey := make(map[string][]float32, len(fresh))
	for i, u := range uploads {
		byKey[u.key.String()] = fresh[i]
	}
	var lookup []int
	var keys []store.Key
	for i, e := range entries {
		if v, ok := byKey[e.SHA256]; ok {
			vecs[i] = v
			continue
		}
		k, err := store.ParseKey(e.SHA256)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		lookup = append(lookup, i)
		keys = append(keys, k)
	}
	cached, err := s.o.Store.Embeddings(backboneID, keys)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("finetune: read embedding cache: %w", err)
	}
	for j, i := range lookup {
		vecs[i] = cached[j]
	}
	classes := make(map[string]int)
	dim := 0
	for i, e := range entries {
		v := vecs[i]
		if v == nil {
			continue
		}
		if dim == 0 {
			dim = len(v)
		}
		if len(v) != dim {
			return nil, nil, nil, nil, fmt.Errorf("finetune: embedding of %s has dimension %d, want %d", e.SHA256, len(v), dim)
		}
		kept = append(kept, e)
		x = append(x, v)
		classes[e.Label]++
	}
	if dropped := len(entries) - len(kept); dropped > 0 {
		s.log.Warn("stored examples without a cached embedding were dropped", "model", model, "dropped", dropped)
	}
	labels = dataset.Labels(classes)
	if len(labels) < 2 {
		return nil, nil, nil, nil, fmt.Errorf("%w in the training set of %q, got %d", dataset.ErrTooFewClasses, model, len(labels))
	}
	index := make(map[string]int, len(labels))
	for i, l := range labels {
		index[l] = i
	}
	y = make([]int, len(kept))
	for i, e := range kept {
		y[i] = index[e.Label]
	}
	return x, y, labels, kept, nil
}
