package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/tlserve/tlserve/internal/dataset"
	"github.com/tlserve/tlserve/internal/head"
)

// Errors returned by Manager methods.
var (
	// ErrQueueFull is returned by Submit when QueueSize jobs are waiting.
	ErrQueueFull = errors.New("job queue is full")
	// ErrNotFound is returned for an unknown job id.
	ErrNotFound = errors.New("job not found")
	// ErrFinished is returned by Cancel for a job that already finished.
	ErrFinished = errors.New("job already finished")
	// ErrClosed is returned by Submit after Close.
	ErrClosed = errors.New("job manager is shut down")
)

// Status is the state of a job.
type Status string

// Job states. Queued and Running are transient; the others are final.
const (
	Queued    Status = "queued"
	Running   Status = "running"
	Succeeded Status = "succeeded"
	Failed    Status = "failed"
	Canceled  Status = "canceled"
)

// Final reports whether s is a final state.
func (s Status) Final() bool { return s == Succeeded || s == Failed || s == Canceled }

// Reasons recorded for jobs stopped by the server rather than by an error.
const (
	ReasonInterruptedRunning = "interrupted: the server stopped while this job was running; submit it again"
	ReasonInterruptedQueued  = "interrupted: the server stopped while this job was queued; submit it again"
	ReasonCanceled           = "canceled by request"
)

// Progress tells how far a running job is: phase "embedding" counts
// images, phase "training" counts epochs.
type Progress struct {
	Phase string `json:"phase"`
	Done  int    `json:"done"`
	Total int    `json:"total"`
}

// DatasetSummary describes a job's training set: Images in total after
// merging with the model's stored dataset, New of them not in that dataset
// before this job, and the number of images per class.
type DatasetSummary struct {
	Images  int            `json:"images"`
	New     int            `json:"new"`
	Classes map[string]int `json:"classes"`
}

// Result is what a successful job produced.
type Result struct {
	Version int          `json:"version"`
	Metrics head.Metrics `json:"metrics"`
}

// Job is the record of one fine-tune job, as served by the HTTP API.
type Job struct {
	ID         string              `json:"id"`
	Model      string              `json:"model"`
	Status     Status              `json:"status"`
	CreatedAt  time.Time           `json:"created_at"`
	StartedAt  *time.Time          `json:"started_at,omitempty"`
	FinishedAt *time.Time          `json:"finished_at,omitempty"`
	Hyper      head.Hyper          `json:"hyperparameters"`
	Dataset    DatasetSummary      `json:"dataset"`
	Progress   *Progress           `json:"progress,omitempty"`
	History    []head.EpochMetrics `json:"history"`
	Result     *Result             `json:"result,omitempty"`
	Error      string              `json:"error,omitempty"`
}

func (j Job) clone() Job {
	j.History = append([]head.EpochMetrics(nil), j.History...)
	if j.History == nil {
		j.History = []head.EpochMetrics{}
	}
	if j.Progress != nil {
		p := *j.Progress
		j.Progress = &p
	}
	if j.Result != nil {
		r := *j.Result
		j.Result = &r
	}
	return j
}

// Reporter receives a running job's progress. Its methods are safe to call
// from the job's goroutine at any rate; only epochs are persisted.
type Reporter interface {
	// ID returns the job's id.
	ID() string
	// Progress sets the current phase and how much of it is done.
	Progress(phase string, done, total int)
	// Epoch appends one epoch to the job's history.
	Epoch(m head.EpochMetrics)
	// Dataset replaces the job's dataset summary, for example once the
	// stored dataset has been merged.
	Dataset(d DatasetSummary)
}

// RunFunc does a job's work. It must return promptly once ctx is done;
// the job is then recorded as canceled or failed (on timeout or shutdown)
// whatever error it returns. A nil error means success.
type RunFunc func(ctx context.Context, r Reporter) (Result, error)

// Spec is a fine-tune request as submitted.
type Spec struct {
	// Model names the head to train.
	Model string
	// Examples are the uploaded labeled images.
	Examples []dataset.Example
	Hyper    head.Hyper
	// Replace discards the model's stored dataset instead of adding to
	// it.
	Replace bool
}

// Work is a validated job, ready to queue.
type Work struct {
	// Hyper is the hyperparameters the job will use.
	Hyper head.Hyper
	// Dataset summarises the training set as validated.
	Dataset DatasetSummary
	Run     RunFunc
}

// Runner turns a Spec into Work; *finetune.Service implements it. Prepare
// runs synchronously in Submit, so that bad requests are refused before
// they are queued; its errors are returned by Submit unchanged.
type Runner interface {
	Prepare(ctx context.Context, s Spec) (Work, error)
}

// Store persists job records; *store.Store implements it.
type Store interface {
	PutJob(id string, record []byte) error
	DeleteJob(id string) error
	JobRecords() ([][]byte, error)
}

// Observer receives job metrics; *metrics.Metrics implements it.
type Observer interface {
	// ObserveJob records a job that reached a final status after running
	// for d (0 for a job canceled or interrupted before it started).
	ObserveJob(status string, d time.Duration)
	// SetQueueLength reports the number of queued (not running) jobs.
	SetQueueLength(n int)
}

// Default option values.
const (
	DefaultQueueSize    = 8
	DefaultKeepFinished = 100
)

// Options configures New. Runner is required; for the other fields the
// zero value means: records kept in memory only, DefaultQueueSize,
// DefaultKeepFinished, no timeout.
type Options struct {
	// Runner validates and runs jobs.
	Runner Runner
	// Store persists records; nil keeps them in memory only.
	Store Store
	// QueueSize bounds the number of jobs waiting to run. A waiting job
	// holds its uploaded images in memory, so QueueSize times the upload
	// size limit bounds that memory.
	QueueSize int
	// Timeout bounds each job's run time; 0 means no limit.
	Timeout time.Duration
	// KeepFinished is how many finished job records are kept.
	KeepFinished int
	Observer     Observer
	Logger       *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

type entry struct {
	job      Job
	run      RunFunc
	cancel   context.CancelFunc
	canceled bool // canceled by request
	shutdown bool // interrupted by Close
	// seq numbers snapshots so that a slow writer never overwrites a
	// newer record with an older one; written (guarded by persistMu) is
	// the last seq stored.
	seq, written uint64
}

// Manager queues and runs jobs. It is safe for concurrent use.
type Manager struct {
	o   Options
	log *slog.Logger

	mu      sync.Mutex
	jobs    map[string]*entry
	queue   []*entry
	closed  bool
	lastID  int64
	wake    chan struct{}
	stopped chan struct{}

	persistMu sync.Mutex
}

// New returns a Manager and starts its worker. Records left queued or
// running by a previous process are marked failed with an interrupted
// reason. It returns an error if the stored records cannot be read.
func New(o Options) (*Manager, error) {
	if o.Runner == nil {
		return nil, errors.New("jobs: Options.Runner is required")
	}
	if o.QueueSize < 0 || o.KeepFinished < 0 || o.Timeout < 0 {
		return nil, errors.New("jobs: negative option")
	}
	if o.QueueSize == 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.KeepFinished == 0 {
		o.KeepFinished = DefaultKeepFinished
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Manager{o: o, log: o.Logger, jobs: make(map[string]*entry), wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	if m.log == nil {
		m.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := m.recover(); err != nil {
		return nil, err
	}
	m.setQueueLength()
	go m.worker()
	return m, nil
}

func (m *Manager) recover() error {
	if m.o.Store == nil {
		return nil
	}
	recs, err := m.o.Store.JobRecords()
	if err != nil {
		return fmt.Errorf("jobs: load records: %w", err)
	}
	now := m.o.Now().UTC()
	for _, b := range recs {
		var j Job
		if err := json.Unmarshal(b, &j); err != nil || j.ID == "" {
			m.log.Warn("skipping unreadable job record", "err", err)
			continue
		}
		e := &entry{job: j}
		m.jobs[j.ID] = e
		if len(j.ID) >= 12 {
			// Keep new ids sorting after recovered ones even if the clock
			// went back or the restart was quick.
			if ms, err := strconv.ParseInt(j.ID[:12], 16, 64); err == nil && ms > m.lastID {
				m.lastID = ms
			}
		}
		if j.Status.Final() {
			continue
		}
		reason := ReasonInterruptedQueued
		if j.Status == Running {
			reason = ReasonInterruptedRunning
		}
		e.job.Status, e.job.Error, e.job.FinishedAt = Failed, reason, &now
		m.log.Warn("job interrupted by restart", "job", j.ID, "model", j.Model)
		m.persist(e, m.snapshot(e))
	}
	m.prune()
	return nil
}

// newID returns a 28-character id: 12 hex digits of milliseconds since the
// epoch (strictly increasing within the process, so ids sort by creation)
// and 16 random hex digits. m.mu must be held.
func (m *Manager) newID() string {
	ms := m.o.Now().UnixMilli()
	if ms <= m.lastID {
		ms = m.lastID + 1
	}
	m.lastID = ms
	var r [8]byte
	rand.Read(r[:])
	return fmt.Sprintf("%012x%s", ms, hex.EncodeToString(r[:]))
}

// Submit validates s with the Runner, queues the job and returns its
// record. It returns the Runner's error for an invalid request,
// ErrQueueFull when the queue is full and ErrClosed after Close; nothing
// is recorded then. The queue is checked before and after validation,
// which can take a while for a large upload.
func (m *Manager) Submit(ctx context.Context, s Spec) (Job, error) {
	if err := m.admit(); err != nil {
		return Job{}, err
	}
	w, err := m.o.Runner.Prepare(ctx, s)
	if err != nil {
		return Job{}, err
	}
	if w.Run == nil {
		return Job{}, errors.New("jobs: runner returned no run function")
	}
	m.mu.Lock()
	if err := m.admitLocked(); err != nil {
		m.mu.Unlock()
		return Job{}, err
	}
	e := &entry{run: w.Run, job: Job{
		ID:        m.newID(),
		Model:     s.Model,
		Status:    Queued,
		CreatedAt: m.o.Now().UTC(),
		Hyper:     w.Hyper,
		Dataset:   w.Dataset,
		History:   []head.EpochMetrics{},
	}}
	m.jobs[e.job.ID] = e
	m.queue = append(m.queue, e)
	snap := m.snapshot(e)
	m.setQueueLength()
	// Signalled under m.mu: Close closes m.wake under m.mu.
	select {
	case m.wake <- struct{}{}:
	default:
	}
	m.mu.Unlock()
	m.persist(e, snap)
	return snap.Job, nil
}

func (m *Manager) admit() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.admitLocked()
}

// admitLocked reports whether a job can be queued. m.mu must be held.
func (m *Manager) admitLocked() error {
	if m.closed {
		return ErrClosed
	}
	if len(m.queue) >= m.o.QueueSize {
		return fmt.Errorf("%w: %d jobs waiting", ErrQueueFull, len(m.queue))
	}
	return nil
}

// Get returns the record of job id, or ErrNotFound.
func (m *Manager) Get(id string) (Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.jobs[id]
	if !ok {
		return Job{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return e.job.clone(), nil
}

// List returns all job records, newest first.
func (m *Manager) List() []Job {
	m.mu.Lock()
	out := make([]Job, 0, len(m.jobs))
	for _, e := range m.jobs {
		out = append(out, e.job.clone())
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out
}

// Cancel cancels job id. A queued job is canceled at once; a running job
// has its context canceled and reaches Canceled when its RunFunc returns,
// so the returned record may still say running. It returns ErrNotFound for
// an unknown id and ErrFinished (with the record) for a finished job.
func (m *Manager) Cancel(id string) (Job, error) {
	m.mu.Lock()
	e, ok := m.jobs[id]
	if !ok {
		m.mu.Unlock()
		return Job{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	switch e.job.Status {
	case Queued:
		m.removeQueued(e)
		m.finish(e, Canceled, ReasonCanceled)
		snap := m.snapshot(e)
		m.setQueueLength()
		m.mu.Unlock()
		m.persist(e, snap)
		m.observe(snap.Job)
		return snap.Job, nil
	case Running:
		e.canceled = true
		e.cancel()
		snap := e.job.clone()
		m.mu.Unlock()
		return snap, nil
	default:
		snap := e.job.clone()
		m.mu.Unlock()
		return snap, fmt.Errorf("%w: %s is %s", ErrFinished, id, snap.Status)
	}
}

// Close stops accepting jobs, cancels the running job and marks queued
// ones failed (interrupted), then waits for the worker to finish recording
// until ctx is done. It returns ctx.Err() if ctx ends first.
func (m *Manager) Close(ctx context.Context) error {
	type pending struct {
		e    *entry
		snap snapshot
	}
	var interrupted []pending
	m.mu.Lock()
	if !m.closed {
		m.closed = true
		for _, e := range m.queue {
			m.finish(e, Failed, ReasonInterruptedQueued)
			interrupted = append(interrupted, pending{e, m.snapshot(e)})
		}
		m.queue = nil
		m.setQueueLength()
		for _, e := range m.jobs {
			if e.job.Status == Running {
				e.shutdown = true
				e.cancel()
			}
		}
		close(m.wake)
	}
	m.mu.Unlock()
	for _, p := range interrupted {
		m.persist(p.e, p.snap)
		m.observe(p.snap.Job)
	}
	select {
	case <-m.stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *Manager) removeQueued(e *entry) {
	for i, q := range m.queue {
		if q == e {
			m.queue = append(m.queue[:i], m.queue[i+1:]...)
			return
		}
	}
}

// finish sets a final status. m.mu must be held.
func (m *Manager) finish(e *entry, s Status, reason string) {
	now := m.o.Now().UTC()
	e.job.Status, e.job.Error, e.job.FinishedAt = s, reason, &now
	e.run = nil
}

func (m *Manager) observe(j Job) {
	if m.o.Observer == nil {
		return
	}
	var d time.Duration
	if j.StartedAt != nil && j.FinishedAt != nil {
		d = j.FinishedAt.Sub(*j.StartedAt)
	}
	m.o.Observer.ObserveJob(string(j.Status), d)
}

// setQueueLength reports the queue length. m.mu must be held.
func (m *Manager) setQueueLength() {
	if m.o.Observer != nil {
		m.o.Observer.SetQueueLength(len(m.queue))
	}
}

// snapshot is a copy of a record numbered for persisting.
type snapshot struct {
	Job
	seq uint64
}

// snapshot copies a record for persisting. m.mu must be held.
func (m *Manager) snapshot(e *entry) snapshot {
	e.seq++
	return snapshot{Job: e.job.clone(), seq: e.seq}
}

// persist writes a snapshot unless a newer one was written already. It
// must be called without m.mu held: it does file I/O.
func (m *Manager) persist(e *entry, s snapshot) {
	if m.o.Store == nil {
		return
	}
	b, err := json.Marshal(s.Job)
	if err != nil {
		m.log.Error("encode job record", "job", s.ID, "err", err)
		return
	}
	m.persistMu.Lock()
	defer m.persistMu.Unlock()
	if e.written >= s.seq {
		return
	}
	if err := m.o.Store.PutJob(s.ID, b); err != nil {
		m.log.Error("persist job record", "job", s.ID, "err", err)
		return
	}
	e.written = s.seq
}

// prune drops the oldest finished records beyond KeepFinished. m.mu must
// not be held by a caller that persists concurrently.
func (m *Manager) prune() {
	m.mu.Lock()
	var done []string
	for id, e := range m.jobs {
		if e.job.Status.Final() {
			done = append(done, id)
		}
	}
	if len(done) <= m.o.KeepFinished {
		m.mu.Unlock()
		return
	}
	sort.Strings(done)
	drop := done[:len(done)-m.o.KeepFinished]
	for _, id := range drop {
		delete(m.jobs, id)
	}
	m.mu.Unlock()
	if m.o.Store == nil {
		return
	}
	m.persistMu.Lock()
	defer m.persistMu.Unlock()
	for _, id := range drop {
		if err := m.o.Store.DeleteJob(id); err != nil {
			m.log.Warn("delete old job record", "job", id, "err", err)
		}
	}
}
