package http_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sort"
	"strconv"
	"sync"

	"github.com/tlserve/tlserve/internal/dataset"
	"github.com/tlserve/tlserve/internal/finetune"
	"github.com/tlserve/tlserve/internal/head"
	tlhttp "github.com/tlserve/tlserve/internal/http"
	"github.com/tlserve/tlserve/internal/imageprep"
	"github.com/tlserve/tlserve/internal/jobs"
	"github.com/tlserve/tlserve/internal/store"
)

var (
	_ tlhttp.Backbone = (*fakeBackbone)(nil)
	_ tlhttp.Models   = (*fakeModels)(nil)
	_ tlhttp.Jobs     = (*fakeJobs)(nil)
)

// fakeBackbone decodes images with the real imageprep (so bad images fail
// as they would in production) and describes each by its mean red, green
// and blue: the embedding is [r, g, b, 1] and the ImageNet-like classes are
// "red", "green" and "blue" with probabilities proportional to the means.
type fakeBackbone struct {
	maxPixels int
	// block, when set, is waited on by every call (to hold requests in
	// flight); panicMsg, when set, makes every call panic.
	block    chan struct{}
	entered  chan struct{} // receives once per blocked call
	panicMsg string
}

// imageErr says which image of a batch failed, as the real backbone does.
type imageErr struct {
	i   int
	err error
}

func (e *imageErr) Error() string   { return fmt.Sprintf("image %d: %v", e.i, e.err) }
func (e *imageErr) Unwrap() error   { return e.err }
func (e *imageErr) ImageIndex() int { return e.i }

func (b *fakeBackbone) means(ctx context.Context, images [][]byte) ([][3]float32, error) {
	if b.panicMsg != "" {
		panic(b.panicMsg)
	}
	if b.block != nil {
		b.entered <- struct{}{}
		select {
		case <-b.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	out := make([][3]float32, len(images))
	for i, data := range images {
		img, err := imageprep.Decode(data, imageprep.DecodeOptions{MaxPixels: b.maxPixels})
		if err != nil {
			return nil, &imageErr{i, err}
		}
		out[i] = meanRGB(img)
	}
	return out, nil
}

func meanRGB(img image.Image) [3]float32 {
	var s [3]float32
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			s[0] += float32(cr)
			s[1] += float32(cg)
			s[2] += float32(cb)
		}
	}
	n := float32(r.Dx()*r.Dy()) * 0xffff
	return [3]float32{s[0] / n, s[1] / n, s[2] / n}
}

func (b *fakeBackbone) Embed(ctx context.Context, images [][]byte) ([][]float32, error) {
	m, err := b.means(ctx, images)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(m))
	for i, v := range m {
		out[i] = []float32{v[0], v[1], v[2], 1}
	}
	return out, nil
}

func (b *fakeBackbone) Classify(ctx context.Context, images [][]byte) ([][]float32, error) {
	m, err := b.means(ctx, images)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(m))
	for i, v := range m {
		sum := v[0] + v[1] + v[2] + 1e-6
		out[i] = []float32{v[0] / sum, v[1] / sum, v[2] / sum}
	}
	return out, nil
}

func (b *fakeBackbone) ID() string       { return "fake-id" }
func (b *fakeBackbone) Name() string     { return "fakenet" }
func (b *fakeBackbone) Dim() int         { return 4 }
func (b *fakeBackbone) Labels() []string { return []string{"red", "green", "blue"} }

// fakeModels holds heads in memory, with numbered versions.
type fakeModels struct {
	mu     sync.Mutex
	models map[string]*fakeModel
}

type fakeModel struct {
	versions []*head.Head // version k is versions[k-1]
	active   int
}

func newFakeModels() *fakeModels { return &fakeModels{models: make(map[string]*fakeModel)} }

// add appends a version to name and activates it.
func (m *fakeModels) add(name string, h *head.Head) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fm := m.models[name]
	if fm == nil {
		fm = &fakeModel{}
		m.models[name] = fm
	}
	fm.versions = append(fm.versions, h)
	fm.active = len(fm.versions)
}

func (m *fakeModels) Active(name string) (*head.Head, store.VersionInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fm := m.models[name]
	if fm == nil {
		return nil, store.VersionInfo{}, store.ErrNotFound
	}
	return fm.versions[fm.active-1], store.VersionInfo{Version: fm.active}, nil
}

func (m *fakeModels) info(name string, fm *fakeModel) store.ModelInfo {
	info := store.ModelInfo{Name: name, ActiveVersion: fm.active}
	for k := range fm.versions {
		info.Versions = append(info.Versions, store.VersionInfo{Version: k + 1})
	}
	return info
}

func (m *fakeModels) Models() ([]store.ModelInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.ModelInfo
	for name, fm := range m.models {
		out = append(out, m.info(name, fm))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m *fakeModels) Model(name string) (store.ModelInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fm := m.models[name]
	if fm == nil {
		return store.ModelInfo{}, store.ErrNotFound
	}
	return m.info(name, fm), nil
}

func (m *fakeModels) Activate(name string, version int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	fm := m.models[name]
	if fm == nil || version < 1 || version > len(fm.versions) {
		return store.ErrNotFound
	}
	fm.active = version
	return nil
}

func (m *fakeModels) Delete(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.models[name] == nil {
		return store.ErrNotFound
	}
	delete(m.models, name)
	return nil
}

// fakeJobs records submitted specs; with capacity reached it answers
// ErrQueueFull.
type fakeJobs struct {
	mu       sync.Mutex
	capacity int
	specs    []jobs.Spec
	jobs     []jobs.Job
}

// Submit validates spec as finetune.Service.Prepare does for a new model
// (files and labels, then two classes), then records it.
func (j *fakeJobs) Submit(ctx context.Context, spec jobs.Spec) (jobs.Job, error) {
	decode := func(b []byte) error {
		_, err := imageprep.Decode(b, imageprep.DecodeOptions{})
		return err
	}
	if err := finetune.Validate(ctx, spec.Examples, decode); err != nil {
		return jobs.Job{}, err
	}
	if err := dataset.Validate(spec.Examples); err != nil {
		return jobs.Job{}, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.jobs) >= j.capacity {
		return jobs.Job{}, fmt.Errorf("submit: %w", jobs.ErrQueueFull)
	}
	job := jobs.Job{ID: "job" + strconv.Itoa(len(j.jobs)+1), Model: spec.Model, Status: jobs.Queued}
	j.specs = append(j.specs, spec)
	j.jobs = append(j.jobs, job)
	return job, nil
}

func (j *fakeJobs) find(id string) (int, error) {
	for i, job := range j.jobs {
		if job.ID == id {
			return i, nil
		}
	}
	return 0, fmt.Errorf("job %q: %w", id, jobs.ErrNotFound)
}

func (j *fakeJobs) Get(id string) (jobs.Job, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	i, err := j.find(id)
	if err != nil {
		return jobs.Job{}, err
	}
	return j.jobs[i], nil
}

func (j *fakeJobs) List() []jobs.Job {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]jobs.Job(nil), j.jobs...)
}

func (j *fakeJobs) Cancel(id string) (jobs.Job, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	i, err := j.find(id)
	if err != nil {
		return jobs.Job{}, err
	}
	if j.jobs[i].Status.Final() {
		return j.jobs[i], fmt.Errorf("%w: %s is %s", jobs.ErrFinished, id, j.jobs[i].Status)
	}
	j.jobs[i].Status = jobs.Canceled
	return j.jobs[i], nil
}

var errNoSpec = errors.New("no spec submitted")

func (j *fakeJobs) lastSpec() (jobs.Spec, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.specs) == 0 {
		return jobs.Spec{}, errNoSpec
	}
	return j.specs[len(j.specs)-1], nil
}
