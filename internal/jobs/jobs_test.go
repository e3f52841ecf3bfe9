package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlserve/tlserve/internal/dataset"
	"github.com/tlserve/tlserve/internal/head"
)

// memStore is an in-memory Store.
type memStore struct {
	mu   sync.Mutex
	recs map[string][]byte
}

var _ Store = (*memStore)(nil)

func newMemStore() *memStore { return &memStore{recs: make(map[string][]byte)} }

func (s *memStore) PutJob(id string, b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs[id] = append([]byte(nil), b...)
	return nil
}

func (s *memStore) DeleteJob(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.recs, id)
	return nil
}

func (s *memStore) JobRecords() ([][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id := range s.recs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out [][]byte
	for _, id := range ids {
		out = append(out, s.recs[id])
	}
	return out, nil
}

func (s *memStore) job(tb testing.TB, id string) Job {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var j Job
	if err := json.Unmarshal(s.recs[id], &j); err != nil {
		tb.Fatalf("record of %s: %v", id, err)
	}
	return j
}

// fakeObserver records job metrics.
type fakeObserver struct {
	mu       sync.Mutex
	statuses map[string]int
	queueLen []int
}

var _ Observer = (*fakeObserver)(nil)

func (o *fakeObserver) ObserveJob(status string, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.statuses == nil {
		o.statuses = make(map[string]int)
	}
	o.statuses[status]++
}

func (o *fakeObserver) SetQueueLength(n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.queueLen = append(o.queueLen, n)
}

func (o *fakeObserver) count(status string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.statuses[status]
}

// fakeRunner prepares jobs whose run function was registered under their
// model name; a spec whose model is "invalid" is refused.
type fakeRunner struct {
	mu   sync.Mutex
	n    int
	runs map[string]RunFunc
}

var _ Runner = (*fakeRunner)(nil)

var errInvalidSpec = errors.New("invalid spec")

func (r *fakeRunner) Prepare(ctx context.Context, s Spec) (Work, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	run, ok := r.runs[s.Model]
	if !ok {
		return Work{}, fmt.Errorf("%w: model %q", errInvalidSpec, s.Model)
	}
	return Work{Hyper: s.Hyper, Dataset: DatasetSummary{Images: len(s.Examples)}, Run: run}, nil
}

// register returns a fresh model name whose jobs run run.
func (r *fakeRunner) register(run RunFunc) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.runs == nil {
		r.runs = make(map[string]RunFunc)
	}
	r.n++
	name := fmt.Sprintf("m%d", r.n)
	r.runs[name] = run
	return name
}

// runnerOf returns the fake runner of a manager made by newManager.
func runnerOf(m *Manager) *fakeRunner { return m.o.Runner.(*fakeRunner) }

func newManager(tb testing.TB, o Options) *Manager {
	tb.Helper()
	if o.Runner == nil {
		o.Runner = &fakeRunner{}
	}
	m, err := New(o)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return m
}

func submit(tb testing.TB, m *Manager, run RunFunc) Job {
	tb.Helper()
	model := runnerOf(m).register(run)
	j, err := m.Submit(context.Background(), Spec{Model: model, Hyper: head.Hyper{Epochs: 3}})
	if err != nil {
		tb.Fatalf("Submit: %v", err)
	}
	return j
}

// waitStatus polls until job id has status want, failing after limit.
func waitStatus(tb testing.TB, m *Manager, id string, want Status, limit time.Duration) Job {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for {
		j, err := m.Get(id)
		if err != nil {
			tb.Fatalf("Get: %v", err)
		}
		if j.Status == want {
			return j
		}
		if time.Now().After(deadline) {
			tb.Fatalf("job %s is %s after %v, want %s (error %q)", id, j.Status, limit, want, j.Error)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func succeed(version int) RunFunc {
	return func(ctx context.Context, r Reporter) (Result, error) { return Result{Version: version}, nil }
}

// blocker is a RunFunc that signals it started and then waits for release
// or its context.
type blocker struct {
	started chan struct{}
	release chan struct{}
}

func newBlocker() *blocker {
	return &blocker{started: make(chan struct{}), release: make(chan struct{})}
}

func (b *blocker) run(ctx context.Context, r Reporter) (Result, error) {
	close(b.started)
	select {
	case <-b.release:
		return Result{Version: 1}, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

func TestFIFOOrder(t *testing.T) {
	m := newManager(t, Options{QueueSize: 10})
	first := newBlocker()
	submit(t, m, first.run)
	<-first.started
	var mu sync.Mutex
	var order []int
	var ids []string
	for i := 0; i < 6; i++ {
		i := i
		j := submit(t, m, func(ctx context.Context, r Reporter) (Result, error) {
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			return Result{Version: i}, nil
		})
		ids = append(ids, j.ID)
	}
	close(first.release)
	for _, id := range ids {
		waitStatus(t, m, id, Succeeded, 5*time.Second)
	}
	if fmt.Sprint(order) != "[0 1 2 3 4 5]" {
		t.Fatalf("run order = %v", order)
	}
}

func TestQueueFull(t *testing.T) {
	obs := &fakeObserver{}
	m := newManager(t, Options{QueueSize: 2, Observer: obs})
	b := newBlocker()
	submit(t, m, b.run)
	<-b.started // running jobs do not take queue slots
	submit(t, m, succeed(1))
	submit(t, m, succeed(2))
	_, err := m.Submit(context.Background(), Spec{Model: runnerOf(m).register(succeed(3))})
	if !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Submit on a full queue = %v, want ErrQueueFull", err)
	}
	if n := len(m.List()); n != 3 {
		t.Fatalf("a refused job was recorded: %d jobs", n)
	}
	obs.mu.Lock()
	last := obs.queueLen[len(obs.queueLen)-1]
	obs.mu.Unlock()
	if last != 2 {
		t.Fatalf("queue length gauge = %d, want 2", last)
	}
	close(b.release)
}

func TestCancel(t *testing.T) {
	st := newMemStore()
	obs := &fakeObserver{}
	m := newManager(t, Options{Store: st, Observer: obs})
	running := newBlocker()
	rj := submit(t, m, running.run)
	<-running.started
	called := false
	qj := submit(t, m, func(ctx context.Context, r Reporter) (Result, error) {
		called = true
		return Result{}, nil
	})

	t.Run("queued", func(t *testing.T) {
		j, err := m.Cancel(qj.ID)
		if err != nil || j.Status != Canceled || j.FinishedAt == nil || j.Error != ReasonCanceled {
			t.Fatalf("Cancel(queued) = %+v, %v", j, err)
		}
		if st.job(t, qj.ID).Status != Canceled {
			t.Fatal("cancellation not persisted")
		}
	})
	t.Run("running", func(t *testing.T) {
		start := time.Now()
		if _, err := m.Cancel(rj.ID); err != nil {
			t.Fatal(err)
		}
		j := waitStatus(t, m, rj.ID, Canceled, time.Second)
		t.Logf("running job canceled after %v", time.Since(start))
		if j.Error != ReasonCanceled || j.Result != nil {
			t.Fatalf("canceled job = %+v", j)
		}
		if st.job(t, rj.ID).Status != Canceled {
			t.Fatal("cancellation not persisted")
		}
	})
	t.Run("finished", func(t *testing.T) {
		j, err := m.Cancel(rj.ID)
		if !errors.Is(err, ErrFinished) || j.Status != Canceled {
			t.Fatalf("Cancel(finished) = %+v, %v, want ErrFinished", j, err)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		if _, err := m.Cancel("nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Cancel(unknown) = %v", err)
		}
		if _, err := m.Get("nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get(unknown) = %v", err)
		}
	})
	// A later job still runs: the worker survived both cancellations.
	j := submit(t, m, succeed(7))
	waitStatus(t, m, j.ID, Succeeded, 5*time.Second)
	if called {
		t.Fatal("a job canceled while queued was run")
	}
	if obs.count("canceled") != 2 || obs.count("succeeded") != 1 {
		t.Fatalf("observed statuses = %v", obs.statuses)
	}
}

func TestFailures(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		run     RunFunc
		want    string
	}{
		{"error", 0, func(ctx context.Context, r Reporter) (Result, error) {
			return Result{}, errors.New("boom: disk full")
		}, "boom: disk full"},
		{"panic", 0, func(ctx context.Context, r Reporter) (Result, error) {
			panic("index out of range")
		}, "internal error: job panicked: index out of range"},
		{"timeout", 20 * time.Millisecond, func(ctx context.Context, r Reporter) (Result, error) {
			<-ctx.Done()
			return Result{}, ctx.Err()
		}, "timed out after 20ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := &fakeObserver{}
			m := newManager(t, Options{Timeout: tt.timeout, Observer: obs})
			j := submit(t, m, tt.run)
			j = waitStatus(t, m, j.ID, Failed, 5*time.Second)
			if j.Error != tt.want || j.Result != nil {
				t.Fatalf("error = %q, want %q", j.Error, tt.want)
			}
			if obs.count("failed") != 1 {
				t.Fatalf("observed = %v", obs.statuses)
			}
		})
	}
}

func TestSuccessRecord(t *testing.T) {
	st := newMemStore()
	m := newManager(t, Options{Store: st})
	inRun := make(chan struct{})
	proceed := make(chan struct{})
	model := runnerOf(m).register(func(ctx context.Context, r Reporter) (Result, error) {
		if r.ID() == "" {
			return Result{}, errors.New("reporter without job id")
		}
		r.Dataset(DatasetSummary{Images: 5, New: 3, Classes: map[string]int{"cat": 3, "dog": 2}})
		for i := 1; i <= 5; i++ {
			r.Progress("embedding", i, 5)
		}
		r.Progress("training", 1, 2)
		r.Epoch(head.EpochMetrics{Epoch: 1, Loss: 0.9})
		close(inRun)
		<-proceed
		r.Progress("training", 2, 2)
		r.Epoch(head.EpochMetrics{Epoch: 2, Loss: 0.5})
		return Result{Version: 4, Metrics: head.Metrics{ValAccuracy: 0.75}}, nil
	})
	j, err := m.Submit(context.Background(), Spec{
		Model:    model,
		Hyper:    head.Hyper{Epochs: 2, LearningRate: 0.1},
		Examples: make([]dataset.Example, 3),
	})
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != Queued || j.CreatedAt.IsZero() || j.StartedAt != nil || j.Dataset.Images != 3 || j.Hyper.Epochs != 2 {
		t.Fatalf("submitted job = %+v", j)
	}
	<-inRun
	mid, _ := m.Get(j.ID)
	if mid.Status != Running || mid.StartedAt == nil || len(mid.History) != 1 ||
		*mid.Progress != (Progress{"training", 1, 2}) || mid.Dataset.Images != 5 {
		t.Fatalf("running job = %+v", mid)
	}
	// Epochs are persisted while running.
	if rec := st.job(t, j.ID); rec.Status != Running || len(rec.History) != 1 {
		t.Fatalf("persisted while running = %+v", rec)
	}
	close(proceed)
	done := waitStatus(t, m, j.ID, Succeeded, 5*time.Second)
	if done.Result == nil || done.Result.Version != 4 || done.Result.Metrics.ValAccuracy != 0.75 ||
		len(done.History) != 2 || done.FinishedAt == nil || done.Error != "" {
		t.Fatalf("finished job = %+v", done)
	}

	b, _ := json.Marshal(done)
	var raw map[string]any
	json.Unmarshal(b, &raw)
	for _, k := range []string{"id", "model", "status", "created_at", "started_at", "finished_at", "hyperparameters", "dataset", "progress", "history", "result"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("job JSON lacks %q: %s", k, b)
		}
	}
	if ds := raw["dataset"].(map[string]any); ds["images"] != 5.0 || ds["new"] != 3.0 {
		t.Errorf("dataset JSON = %v", ds)
	}
	if p := raw["progress"].(map[string]any); p["phase"] != "training" || p["done"] != 2.0 {
		t.Errorf("progress JSON = %v", p)
	}
	if rec := st.job(t, j.ID); rec.Status != Succeeded || rec.Result.Version != 4 {
		t.Fatalf("persisted record = %+v", rec)
	}
}

func TestRestartMarksInterruptedJobsFailed(t *testing.T) {
	st := newMemStore()
	m1, err := New(Options{Store: st, QueueSize: 4, Runner: &fakeRunner{}})
	if err != nil {
		t.Fatal(err)
	}
	b := newBlocker()
	running := submit(t, m1, b.run)
	<-b.started
	queued := submit(t, m1, succeed(2))
	// m1 is abandoned without Close, as if the process died.

	m2 := newManager(t, Options{Store: st})
	for _, tt := range []struct {
		id     string
		reason string
	}{{running.ID, ReasonInterruptedRunning}, {queued.ID, ReasonInterruptedQueued}} {
		j, err := m2.Get(tt.id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != Failed || j.Error != tt.reason || j.FinishedAt == nil {
			t.Fatalf("after restart %s = %+v", tt.id, j)
		}
		if rec := st.job(t, tt.id); rec.Status != Failed || rec.Error != tt.reason {
			t.Fatalf("restart verdict not persisted: %+v", rec)
		}
	}
	if !strings.HasPrefix(ReasonInterruptedRunning, "interrupted: the server stopped while this job was running") {
		t.Fatalf("reason text changed: %q", ReasonInterruptedRunning)
	}
	// New ids keep sorting after the recovered ones.
	j := submit(t, m2, succeed(1))
	if j.ID <= queued.ID {
		t.Fatalf("new id %s sorts before old %s", j.ID, queued.ID)
	}
	close(b.release)
	m1.Close(context.Background())
}

func TestClose(t *testing.T) {
	st := newMemStore()
	m, err := New(Options{Store: st, Runner: &fakeRunner{}})
	if err != nil {
		t.Fatal(err)
	}
	b := newBlocker()
	running := submit(t, m, b.run)
	<-b.started
	queued := submit(t, m, succeed(1))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for id, reason := range map[string]string{running.ID: ReasonInterruptedRunning, queued.ID: ReasonInterruptedQueued} {
		j, _ := m.Get(id)
		if j.Status != Failed || j.Error != reason {
			t.Fatalf("after Close %s = %+v", id, j)
		}
		if rec := st.job(t, id); rec.Status != Failed {
			t.Fatalf("not persisted: %+v", rec)
		}
	}
	if _, err := m.Submit(context.Background(), Spec{Model: runnerOf(m).register(succeed(1))}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit after Close = %v", err)
	}
	if err := m.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestCloseTimesOutOnStuckJob(t *testing.T) {
	m, _ := New(Options{Runner: &fakeRunner{}})
	stuck := make(chan struct{})
	defer close(stuck)
	started := make(chan struct{})
	submit(t, m, func(ctx context.Context, r Reporter) (Result, error) {
		close(started)
		<-stuck // ignores ctx
		return Result{}, nil
	})
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := m.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want DeadlineExceeded", err)
	}
}

func TestKeepFinished(t *testing.T) {
	st := newMemStore()
	m := newManager(t, Options{Store: st, KeepFinished: 3})
	var ids []string
	for i := 0; i < 6; i++ {
		j := submit(t, m, succeed(i))
		waitStatus(t, m, j.ID, Succeeded, 5*time.Second)
		ids = append(ids, j.ID)
	}
	list := m.List()
	if len(list) != 3 || list[0].ID != ids[5] || list[2].ID != ids[3] {
		t.Fatalf("List = %d jobs starting %v, want the newest 3, newest first", len(list), list)
	}
	recs, _ := st.JobRecords()
	if len(recs) != 3 {
		t.Fatalf("%d stored records, want 3", len(recs))
	}
	if _, err := m.Get(ids[0]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("oldest record still there: %v", err)
	}
}

func TestIDs(t *testing.T) {
	fixed := time.Unix(1_700_000_000, 0)
	m := newManager(t, Options{Now: func() time.Time { return fixed }, QueueSize: 100})
	b := newBlocker()
	submit(t, m, b.run)
	<-b.started
	prev := ""
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		j := submit(t, m, succeed(1))
		if len(j.ID) != 28 || j.ID <= prev || seen[j.ID[12:]] {
			t.Fatalf("id %q after %q", j.ID, prev)
		}
		prev = j.ID
		seen[j.ID[12:]] = true
	}
	close(b.release)
}

func TestConcurrentUse(t *testing.T) {
	m := newManager(t, Options{Store: newMemStore(), QueueSize: 1000, KeepFinished: 1000})
	model := runnerOf(m).register(func(ctx context.Context, r Reporter) (Result, error) {
		r.Progress("embedding", 1, 1)
		r.Epoch(head.EpochMetrics{Epoch: 1})
		return Result{Version: 1}, nil
	})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ids []string
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				j, err := m.Submit(context.Background(), Spec{Model: model})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ids = append(ids, j.ID)
				mu.Unlock()
				if _, err := m.Get(j.ID); err != nil {
					t.Error(err)
				}
				m.List()
				if i%5 == 0 {
					m.Cancel(j.ID)
				}
			}
		}(g)
	}
	wg.Wait()
	for _, id := range ids {
		deadline := time.Now().Add(10 * time.Second)
		for {
			j, err := m.Get(id)
			if err != nil {
				t.Fatal(err)
			}
			if j.Status.Final() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s stuck in %s", id, j.Status)
			}
			time.Sleep(time.Millisecond)
		}
	}
	if n := len(m.List()); n != 160 {
		t.Fatalf("List = %d jobs, want 160", n)
	}
}

func TestSubmitRefusesInvalidSpec(t *testing.T) {
	st := newMemStore()
	m := newManager(t, Options{Store: st})
	if _, err := m.Submit(context.Background(), Spec{Model: "never-registered"}); !errors.Is(err, errInvalidSpec) {
		t.Fatalf("Submit = %v, want the runner's error", err)
	}
	if n := len(m.List()); n != 0 {
		t.Fatalf("%d jobs recorded for an invalid spec", n)
	}
	if recs, _ := st.JobRecords(); len(recs) != 0 {
		t.Fatalf("%d records persisted for an invalid spec", len(recs))
	}
}

func TestNewNeedsRunner(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without a Runner succeeded")
	}
}
