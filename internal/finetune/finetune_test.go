package finetune

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlserve/tlserve/internal/dataset"
	"github.com/tlserve/tlserve/internal/head"
	"github.com/tlserve/tlserve/internal/jobs"
	"github.com/tlserve/tlserve/internal/store"
)

// classColor gives each test class a distinct colour, so the fake
// embeddings are separable.
var classColor = map[string]color.RGBA{
	"cat":  {200, 40, 40, 255},
	"dog":  {40, 200, 40, 255},
	"fish": {40, 40, 200, 255},
	"bird": {200, 200, 40, 255},
}

// pngOf encodes a small noisy image of the class colour; seed makes it
// unique.
func pngOf(tb testing.TB, label string, seed int) []byte {
	tb.Helper()
	c, ok := classColor[label]
	if !ok {
		tb.Fatalf("no colour for %q", label)
	}
	rng := rand.New(rand.NewSource(int64(seed)*7919 + int64(len(label))))
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i] = c.R + uint8(rng.Intn(20))
		img.Pix[i+1] = c.G + uint8(rng.Intn(20))
		img.Pix[i+2] = c.B + uint8(rng.Intn(20))
		img.Pix[i+3] = 255
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// examples makes n images per label, seeds starting at from.
func examples(tb testing.TB, n, from int, labels ...string) []dataset.Example {
	tb.Helper()
	var out []dataset.Example
	for _, l := range labels {
		for i := from; i < from+n; i++ {
			out = append(out, dataset.Example{Label: l, Name: fmt.Sprintf("%s%d.png", l, i), Data: pngOf(tb, l, i)})
		}
	}
	return out
}

// fakeEmbedder embeds an image as its mean colour plus a constant; it
// counts the images it embedded and can block until its context ends.
type fakeEmbedder struct {
	id    string
	mu    sync.Mutex
	calls int
	// block, if set, makes Embed wait for ctx after `after` images.
	block bool
	after int
}

var _ Embedder = (*fakeEmbedder)(nil)

func (f *fakeEmbedder) ID() string   { return f.id }
func (f *fakeEmbedder) Name() string { return "fake-" + f.id }

func (f *fakeEmbedder) embedded() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeEmbedder) Embed(ctx context.Context, images [][]byte) ([][]float32, error) {
	out := make([][]float32, len(images))
	for i, b := range images {
		f.mu.Lock()
		block := f.block && f.calls >= f.after
		f.mu.Unlock()
		if block {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		var s [3]float32
		n := float32(img.Bounds().Dx() * img.Bounds().Dy())
		for y := 0; y < img.Bounds().Dy(); y++ {
			for x := 0; x < img.Bounds().Dx(); x++ {
				r, g, b, _ := img.At(x, y).RGBA()
				s[0] += float32(r) / 65535 / n
				s[1] += float32(g) / 65535 / n
				s[2] += float32(b) / 65535 / n
			}
		}
		out[i] = []float32{s[0], s[1], s[2], 1}
		f.mu.Lock()
		f.calls++
		f.mu.Unlock()
	}
	return out, nil
}

// countingObserver sums AddEmbeddings calls.
type countingObserver struct {
	mu               sync.Mutex
	computed, reused int
}

func (o *countingObserver) AddEmbeddings(c, r int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.computed += c
	o.reused += r
}

func (o *countingObserver) take() (int, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c, r := o.computed, o.reused
	o.computed, o.reused = 0, 0
	return c, r
}

// recorder is a jobs.Reporter that keeps every call.
type recorder struct {
	mu       sync.Mutex
	progress []jobs.Progress
	epochs   []head.EpochMetrics
	datasets []jobs.DatasetSummary
}

var _ jobs.Reporter = (*recorder)(nil)

func (r *recorder) ID() string { return "job-test" }
func (r *recorder) Progress(phase string, done, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.progress = append(r.progress, jobs.Progress{Phase: phase, Done: done, Total: total})
}
func (r *recorder) Epoch(m head.EpochMetrics) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.epochs = append(r.epochs, m)
}
func (r *recorder) Dataset(d jobs.DatasetSummary) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.datasets = append(r.datasets, d)
}

type fixture struct {
	store *store.Store
	emb   *fakeEmbedder
	obs   *countingObserver
	svc   *Service
}

func newFixture(tb testing.TB, dir string, o Options) *fixture {
	tb.Helper()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	f := &fixture{store: st, emb: &fakeEmbedder{id: "backbone-a"}, obs: &countingObserver{}}
	if e, ok := o.Embedder.(*fakeEmbedder); ok {
		f.emb = e
	}
	o.Store, o.Embedder, o.Observer = st, f.emb, f.obs
	if o.Train == nil {
		o.Train = quickTrain
	}
	f.svc, err = New(o)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

func quickHyper() head.Hyper {
	h := head.DefaultHyper()
	h.Epochs = 3
	h.Seed = 1
	return h
}

// quickTrain is head.Train; tests that need a fake trainer inject one.
func quickTrain(ctx context.Context, x [][]float32, y []int, labels []string, h head.Hyper, progress func(head.EpochMetrics)) (*head.Head, *head.Result, error) {
	return head.Train(ctx, x, y, labels, h, progress)
}

// runJob prepares req and runs its job body inline.
func (f *fixture) runJob(tb testing.TB, req jobs.Spec) (jobs.Result, *recorder, error) {
	tb.Helper()
	if req.Hyper == (head.Hyper{}) {
		req.Hyper = quickHyper()
	}
	work, err := f.svc.Prepare(context.Background(), req)
	if err != nil {
		tb.Fatalf("Prepare: %v", err)
	}
	rec := &recorder{}
	res, err := work.Run(context.Background(), rec)
	return res, rec, err
}

func TestPrepareRefusesBadRequests(t *testing.T) {
	good := examples(t, 2, 0, "cat", "dog")
	f := newFixture(t, t.TempDir(), Options{})
	bad := append(append([]dataset.Example(nil), good...),
		dataset.Example{Label: "cat", Name: "notes.txt", Data: []byte("hello")},
		dataset.Example{Label: "dog", Name: "empty.jpg", Data: nil},
		dataset.Example{Label: "bad/label", Name: "x.png", Data: pngOf(t, "cat", 99)},
		dataset.Example{Label: "dog", Name: "trunc.png", Data: pngOf(t, "dog", 98)[:40]},
	)
	relabeled := append(append([]dataset.Example(nil), good...),
		dataset.Example{Label: "dog", Name: "copy.png", Data: good[0].Data})
	tests := []struct {
		name     string
		req      jobs.Spec
		want     error
		badFiles []string
	}{
		{"bad model name", jobs.Spec{Model: "Bad Name", Examples: good}, store.ErrInvalidName, nil},
		{"reserved model name", jobs.Spec{Model: "imagenet", Examples: good}, store.ErrReservedName, nil},
		{"bad hyperparameters", jobs.Spec{Model: "pets", Examples: good, Hyper: head.Hyper{Epochs: -1, LearningRate: 0.1, BatchSize: 1}}, head.ErrInvalidHyper, nil},
		{"no images", jobs.Spec{Model: "pets"}, dataset.ErrNoExamples, nil},
		{"invalid files all named", jobs.Spec{Model: "pets", Examples: bad}, ErrInvalidFiles, []string{"notes.txt", "empty.jpg", "x.png", "trunc.png"}},
		{"one image two labels", jobs.Spec{Model: "pets", Examples: relabeled}, ErrInvalidFiles, []string{"copy.png"}},
		{"one class", jobs.Spec{Model: "pets", Examples: examples(t, 3, 0, "cat")}, dataset.ErrTooFewClasses, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Prepare(context.Background(), tt.req)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Prepare = %v, want %v", err, tt.want)
			}
			if tt.badFiles == nil {
				return
			}
			var ife *InvalidFilesError
			if !errors.As(err, &ife) {
				t.Fatalf("error %T is not *InvalidFilesError", err)
			}
			var names []string
			for _, fe := range ife.Files {
				names = append(names, fe.Name)
				if fe.Reason == "" {
					t.Errorf("no reason for %s", fe.Name)
				}
				if !strings.Contains(err.Error(), fe.Name) {
					t.Errorf("message %q does not name %s", err, fe.Name)
				}
			}
			if !reflect.DeepEqual(names, tt.badFiles) {
				t.Fatalf("invalid files = %v, want %v", names, tt.badFiles)
			}
		})
	}
}

func TestJobPhasesAndResult(t *testing.T) {
	f := newFixture(t, t.TempDir(), Options{})
	res, rec, err := f.runJob(t, jobs.Spec{Model: "pets", Examples: examples(t, 4, 0, "cat", "dog")})
	if err != nil {
		t.Fatalf("job: %v", err)
	}
	if res.Version != 1 {
		t.Fatalf("version = %d", res.Version)
	}
	// Phases: embedding 0..8 of 8, then training 0..E of E.
	var want []jobs.Progress
	for i := 0; i <= 8; i++ {
		if i == 0 {
			want = append(want, jobs.Progress{Phase: PhaseEmbedding, Done: 0, Total: 8})
		}
		want = append(want, jobs.Progress{Phase: PhaseEmbedding, Done: i, Total: 8})
	}
	for e := 0; e <= len(rec.epochs); e++ {
		want = append(want, jobs.Progress{Phase: PhaseTraining, Done: e, Total: 3})
	}
	if !reflect.DeepEqual(rec.progress, want) {
		t.Fatalf("progress =\n%v\nwant\n%v", rec.progress, want)
	}
	if len(rec.epochs) == 0 || len(rec.epochs) > 3 {
		t.Fatalf("%d epochs reported", len(rec.epochs))
	}
	if d := rec.datasets[0]; d.Images != 8 || d.New != 8 || d.Classes["cat"] != 4 {
		t.Fatalf("dataset summary = %+v", d)
	}
	h, vi, err := f.store.Active("pets")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(h.Labels, []string{"cat", "dog"}) || vi.BackboneID != "backbone-a" ||
		vi.BackboneName != "fake-backbone-a" || vi.EmbeddingDim != 4 || vi.JobID != "job-test" ||
		vi.TrainSize+vi.ValSize != 8 || len(vi.History) != len(rec.epochs) {
		t.Fatalf("saved version = %+v", vi)
	}
	ds, _ := f.store.Dataset("pets")
	if len(ds.Entries) != 8 || ds.BackboneID != "backbone-a" {
		t.Fatalf("stored dataset = %+v", ds)
	}
}

func TestEmbeddingCacheReuse(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, dir, Options{})
	first := examples(t, 2, 0, "cat", "dog")
	if _, _, err := f.runJob(t, jobs.Spec{Model: "pets", Examples: first}); err != nil {
		t.Fatal(err)
	}
	if c, r := f.obs.take(); c != 4 || r != 0 {
		t.Fatalf("first job computed %d reused %d, want 4 and 0", c, r)
	}
	// Another model with two known images and two new ones, after a
	// restart: the cache is global and on disk.
	f = newFixture(t, dir, Options{})
	mixed := append(first[:2:2], examples(t, 1, 10, "cat", "dog")...)
	if _, _, err := f.runJob(t, jobs.Spec{Model: "other", Examples: mixed}); err != nil {
		t.Fatal(err)
	}
	if c, r := f.obs.take(); c != 2 || r != 2 || f.emb.embedded() != 2 {
		t.Fatalf("second job computed %d reused %d (embedder saw %d), want 2 and 2", c, r, f.emb.embedded())
	}
	// A different backbone never reuses those embeddings.
	g := newFixture(t, dir, Options{Embedder: &fakeEmbedder{id: "backbone-b"}})
	if _, _, err := g.runJob(t, jobs.Spec{Model: "third", Examples: first}); err != nil {
		t.Fatal(err)
	}
	if c, r := g.obs.take(); c != 4 || r != 0 {
		t.Fatalf("other backbone computed %d reused %d, want 4 and 0", c, r)
	}
}

func TestMergeAndReplace(t *testing.T) {
	f := newFixture(t, t.TempDir(), Options{})
	catdog := examples(t, 2, 0, "cat", "dog")
	if _, _, err := f.runJob(t, jobs.Spec{Model: "pets", Examples: catdog}); err != nil {
		t.Fatal(err)
	}
	// One class alone is fine when merged with the stored two.
	res, rec, err := f.runJob(t, jobs.Spec{Model: "pets", Examples: examples(t, 2, 0, "fish")})
	if err != nil {
		t.Fatal(err)
	}
	if d := rec.datasets[0]; d.Images != 6 || d.New != 2 || len(d.Classes) != 3 {
		t.Fatalf("merged summary = %+v", d)
	}
	h, vi, _ := f.store.Active("pets")
	if res.Version != 2 || vi.Version != 2 || !reflect.DeepEqual(h.Labels, []string{"cat", "dog", "fish"}) {
		t.Fatalf("after merge: version %d, labels %v", vi.Version, h.Labels)
	}
	// Re-uploading an image under another label moves it.
	moved := dataset.Example{Label: "fish", Name: "was-a-cat.png", Data: catdog[0].Data}
	_, rec, err = f.runJob(t, jobs.Spec{Model: "pets", Examples: []dataset.Example{moved}})
	if err != nil {
		t.Fatal(err)
	}
	if d := rec.datasets[0]; d.Images != 6 || d.New != 0 || d.Classes["cat"] != 1 || d.Classes["fish"] != 3 {
		t.Fatalf("relabel summary = %+v", d)
	}
	// Replace starts over: a single class is refused up front...
	_, err = f.svc.Prepare(context.Background(), jobs.Spec{Model: "pets", Hyper: quickHyper(), Replace: true, Examples: examples(t, 2, 5, "fish")})
	if !errors.Is(err, dataset.ErrTooFewClasses) {
		t.Fatalf("replace with one class = %v, want ErrTooFewClasses", err)
	}
	// ...and two new classes make a model of just those.
	_, rec, err = f.runJob(t, jobs.Spec{Model: "pets", Replace: true, Examples: examples(t, 2, 5, "fish", "bird")})
	if err != nil {
		t.Fatal(err)
	}
	h, _, _ = f.store.Active("pets")
	if !reflect.DeepEqual(h.Labels, []string{"bird", "fish"}) || rec.datasets[0].Images != 4 {
		t.Fatalf("after replace labels %v, summary %+v", h.Labels, rec.datasets[0])
	}
}

func TestBackboneChangeDropsStoredDataset(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, dir, Options{})
	if _, _, err := f.runJob(t, jobs.Spec{Model: "pets", Examples: examples(t, 2, 0, "cat", "dog")}); err != nil {
		t.Fatal(err)
	}
	g := newFixture(t, dir, Options{Embedder: &fakeEmbedder{id: "backbone-b"}})
	_, err := g.svc.Prepare(context.Background(), jobs.Spec{Model: "pets", Hyper: quickHyper(), Examples: examples(t, 2, 5, "fish")})
	if !errors.Is(err, dataset.ErrTooFewClasses) {
		t.Fatalf("Prepare = %v, want ErrTooFewClasses (stored set of another backbone is not reused)", err)
	}
	_, rec, err := g.runJob(t, jobs.Spec{Model: "pets", Examples: examples(t, 2, 5, "fish", "bird")})
	if err != nil {
		t.Fatal(err)
	}
	if d := rec.datasets[0]; d.Images != 4 {
		t.Fatalf("summary = %+v, want only the 4 new images", d)
	}
	ds, _ := g.store.Dataset("pets")
	if ds.BackboneID != "backbone-b" || len(ds.Entries) != 4 {
		t.Fatalf("stored dataset = %s with %d entries", ds.BackboneID, len(ds.Entries))
	}
}

func TestCancelDuringEmbeddingKeepsWork(t *testing.T) {
	dir := t.TempDir()
	emb := &fakeEmbedder{id: "backbone-a", block: true, after: 3}
	f := newFixture(t, dir, Options{Embedder: emb, FlushEvery: 100})
	work, err := f.svc.Prepare(context.Background(), jobs.Spec{Model: "pets", Hyper: quickHyper(), Examples: examples(t, 3, 0, "cat", "dog")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	rec := &recorder{}
	go func() { _, err := work.Run(ctx, rec); errc <- err }()
	for emb.embedded() < 3 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run ignored cancellation")
	}
	if _, _, err := f.store.Active("pets"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a canceled job saved a version: %v", err)
	}
	if c, _ := f.obs.take(); c != 3 {
		t.Fatalf("computed = %d, want 3", c)
	}
	// The 3 embeddings computed before the cancel are reused.
	g := newFixture(t, dir, Options{})
	if _, _, err := g.runJob(t, jobs.Spec{Model: "pets", Examples: examples(t, 3, 0, "cat", "dog")}); err != nil {
		t.Fatal(err)
	}
	if c, r := g.obs.take(); c != 3 || r != 3 {
		t.Fatalf("after cancel computed %d reused %d, want 3 and 3", c, r)
	}
}

func TestCancelDuringTrainingSavesNothing(t *testing.T) {
	started := make(chan struct{})
	train := func(ctx context.Context, x [][]float32, y []int, labels []string, h head.Hyper, progress func(head.EpochMetrics)) (*head.Head, *head.Result, error) {
		progress(head.EpochMetrics{Epoch: 1, Loss: 1})
		close(started)
		<-ctx.Done()
		return nil, nil, ctx.Err()
	}
	f := newFixture(t, t.TempDir(), Options{Train: train})
	work, err := f.svc.Prepare(context.Background(), jobs.Spec{Model: "pets", Hyper: quickHyper(), Examples: examples(t, 2, 0, "cat", "dog")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	rec := &recorder{}
	go func() { _, err := work.Run(ctx, rec); errc <- err }()
	<-started
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if _, err := f.store.Model("pets"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("canceled job left a model: %v", err)
	}
	if ds, _ := f.store.Dataset("pets"); len(ds.Entries) != 0 {
		t.Fatalf("canceled job saved its dataset: %d entries", len(ds.Entries))
	}
	if len(rec.epochs) != 1 {
		t.Fatalf("epochs = %v", rec.epochs)
	}
}

// TestWithJobManager runs the service behind the real job queue.
func TestWithJobManager(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Options{Store: st, Embedder: &fakeEmbedder{id: "backbone-a"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := jobs.New(jobs.Options{Store: st, Runner: svc})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	if _, err := m.Submit(context.Background(), jobs.Spec{Model: "pets", Examples: examples(t, 3, 0, "cat")}); !errors.Is(err, dataset.ErrTooFewClasses) {
		t.Fatalf("Submit of one class = %v, want ErrTooFewClasses", err)
	}
	j, err := m.Submit(context.Background(), jobs.Spec{Model: "pets", Hyper: quickHyper(), Examples: examples(t, 3, 0, "cat", "dog")})
	if err != nil {
		t.Fatal(err)
	}
	if j.Dataset.Images != 6 || j.Hyper.Epochs != 3 {
		t.Fatalf("submitted job = %+v", j)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !j.Status.Final() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		j, _ = m.Get(j.ID)
	}
	if j.Status != jobs.Succeeded || j.Result == nil || j.Result.Version != 1 || len(j.History) == 0 {
		t.Fatalf("job = %+v", j)
	}
	if p := j.Progress; p == nil || p.Phase != PhaseTraining || p.Done != len(j.History) {
		t.Fatalf("final progress = %+v", p)
	}
	_, vi, err := st.Active("pets")
	if err != nil || vi.JobID != j.ID {
		t.Fatalf("active version %+v, %v; want one made by job %s", vi, err, j.ID)
	}
}

// TestTrainedHeadClassifies trains a real head on separable fake
// embeddings and checks that the activated version predicts unseen images.
func TestTrainedHeadClassifies(t *testing.T) {
	f := newFixture(t, t.TempDir(), Options{})
	h := quickHyper()
	h.Epochs, h.LearningRate, h.BatchSize, h.Patience = 60, 0.1, 4, 0
	if _, _, err := f.runJob(t, jobs.Spec{Model: "colors", Hyper: h, Examples: examples(t, 6, 0, "cat", "dog", "fish")}); err != nil {
		t.Fatal(err)
	}
	hd, _, err := f.store.Active("colors")
	if err != nil {
		t.Fatal(err)
	}
	probs := make([]float32, len(hd.Labels))
	for _, ex := range examples(t, 2, 100, "cat", "dog", "fish") {
		emb, err := f.emb.Embed(context.Background(), [][]byte{ex.Data})
		if err != nil {
			t.Fatal(err)
		}
		hd.Predict(probs, emb[0])
		best := 0
		for i := range probs {
			if probs[i] > probs[best] {
				best = i
			}
		}
		if hd.Labels[best] != ex.Label {
			t.Errorf("%s predicted %s (%v)", ex.Name, hd.Labels[best], probs)
		}
	}
}

// TestCancelRealTraining cancels a job during real head training through
// the job manager and expects the job to be canceled within a second.
func TestCancelRealTraining(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Options{Store: st, Embedder: &fakeEmbedder{id: "backbone-a"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := jobs.New(jobs.Options{Store: st, Runner: svc})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	h := quickHyper()
	h.Epochs, h.Patience, h.BatchSize = 1000, 0, 1
	j, err := m.Submit(context.Background(), jobs.Spec{Model: "pets", Hyper: h, Examples: examples(t, 10, 0, "cat", "dog")})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		j, _ = m.Get(j.ID)
		if len(j.History) > 0 {
			break
		}
		if j.Status.Final() || time.Now().After(deadline) {
			t.Fatalf("job never reached training: %+v", j)
		}
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	if _, err := m.Cancel(j.ID); err != nil {
		t.Fatal(err)
	}
	for j.Status != jobs.Canceled {
		if time.Since(start) > time.Second {
			t.Fatalf("job still %s a second after cancel", j.Status)
		}
		time.Sleep(time.Millisecond)
		j, _ = m.Get(j.ID)
	}
	t.Logf("canceled after %v, %d epochs done", time.Since(start), len(j.History))
	if _, err := st.Model("pets"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("canceled job saved a model: %v", err)
	}
}

// TestRestartWithRealStore abandons a running job as if the process died
// and reopens the data directory: the job is failed as interrupted, and
// the versions of a finished job are still served.
func TestRestartWithRealStore(t *testing.T) {
	dir := t.TempDir()
	open := func(emb Embedder) (*store.Store, *jobs.Manager) {
		t.Helper()
		st, err := store.Open(dir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := New(Options{Store: st, Embedder: emb})
		if err != nil {
			t.Fatal(err)
		}
		m, err := jobs.New(jobs.Options{Store: st, Runner: svc})
		if err != nil {
			t.Fatal(err)
		}
		return st, m
	}
	wait := func(m *jobs.Manager, id string, done func(jobs.Job) bool) jobs.Job {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			j, err := m.Get(id)
			if err != nil {
				t.Fatal(err)
			}
			if done(j) {
				return j
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s stuck: %+v", id, j)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	_, m1 := open(&fakeEmbedder{id: "backbone-a"})
	ok, err := m1.Submit(context.Background(), jobs.Spec{Model: "pets", Hyper: quickHyper(), Examples: examples(t, 2, 0, "cat", "dog")})
	if err != nil {
		t.Fatal(err)
	}
	wait(m1, ok.ID, func(j jobs.Job) bool { return j.Status == jobs.Succeeded })
	m1.Close(context.Background())

	stuck := &fakeEmbedder{id: "backbone-a", block: true}
	st2, m2 := open(stuck)
	defer m2.Close(context.Background())
	j, err := m2.Submit(context.Background(), jobs.Spec{Model: "pets", Hyper: quickHyper(), Examples: examples(t, 2, 50, "fish")})
	if err != nil {
		t.Fatal(err)
	}
	wait(m2, j.ID, func(j jobs.Job) bool { return j.Status == jobs.Running })
	// The running record reaches the disk just after the status changes
	// in memory.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		recs, _ := st2.JobRecords()
		if bytes.Contains(recs[len(recs)-1], []byte(`"status":"running"`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("running record never persisted")
		}
	}
	// m2 is abandoned while running: the process "died".

	st3, m3 := open(&fakeEmbedder{id: "backbone-a"})
	defer m3.Close(context.Background())
	got, err := m3.Get(j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != jobs.Failed || got.Error != jobs.ReasonInterruptedRunning {
		t.Fatalf("interrupted job after restart = %s %q", got.Status, got.Error)
	}
	prev, err := m3.Get(ok.ID)
	if err != nil || prev.Status != jobs.Succeeded || prev.Result.Version != 1 {
		t.Fatalf("finished job after restart = %+v, %v", prev, err)
	}
	h, vi, err := st3.Active("pets")
	if err != nil || vi.Version != 1 || len(h.Labels) != 2 {
		t.Fatalf("model after restart = %+v, %v", vi, err)
	}
}
