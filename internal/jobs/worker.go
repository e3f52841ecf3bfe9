package jobs

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/tlserve/tlserve/internal/head"
)

// worker runs queued jobs one at a time until Close.
func (m *Manager) worker() {
	defer close(m.stopped)
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return
		}
		if len(m.queue) == 0 {
			m.mu.Unlock()
			<-m.wake // closed by Close
			continue
		}
		e := m.queue[0]
		m.queue = m.queue[1:]
		m.setQueueLength()
		m.runOne(e)
	}
}

// runOne runs e; it is called with m.mu held and returns with it released.
func (m *Manager) runOne(e *entry) {
	ctx, cancel := context.WithCancel(context.Background())
	if m.o.Timeout > 0 {
		ctx, cancel = context.WithTimeout(context.Background(), m.o.Timeout)
	}
	defer cancel()
	e.cancel = cancel
	now := m.o.Now().UTC()
	e.job.Status, e.job.StartedAt = Running, &now
	run := e.run
	snap := m.snapshot(e)
	m.mu.Unlock()
	m.persist(e, snap)
	m.log.Info("job started", "job", e.job.ID, "model", snap.Model)

	res, err := m.safeRun(ctx, run, &reporter{m: m, e: e})

	m.mu.Lock()
	status, reason := Succeeded, ""
	switch {
	case err == nil:
		e.job.Result = &res
	case e.shutdown:
		status, reason = Failed, ReasonInterruptedRunning
	case e.canceled:
		status, reason = Canceled, ReasonCanceled
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		status, reason = Failed, fmt.Sprintf("timed out after %s", m.o.Timeout)
	default:
		status, reason = Failed, err.Error()
	}
	m.finish(e, status, reason)
	snap = m.snapshot(e)
	m.mu.Unlock()
	m.persist(e, snap)
	m.observe(snap.Job)
	m.prune()
	if err != nil {
		m.log.Warn("job ended", "job", snap.ID, "model", snap.Model, "status", status, "err", err)
	} else {
		m.log.Info("job succeeded", "job", snap.ID, "model", snap.Model, "version", res.Version)
	}
}

// safeRun turns a panic in a job into an error so that one bad job does
// not take the server down.
func (m *Manager) safeRun(ctx context.Context, run RunFunc, r Reporter) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			m.log.Error("job panicked", "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("internal error: job panicked: %v", p)
		}
	}()
	return run(ctx, r)
}

type reporter struct {
	m *Manager
	e *entry
}

var _ Reporter = (*reporter)(nil)

func (r *reporter) ID() string { return r.e.job.ID }

func (r *reporter) Progress(phase string, done, total int) {
	r.m.mu.Lock()
	r.e.job.Progress = &Progress{Phase: phase, Done: done, Total: total}
	r.m.mu.Unlock()
}

func (r *reporter) Epoch(em head.EpochMetrics) {
	r.m.mu.Lock()
	r.e.job.History = append(r.e.job.History, em)
	snap := r.m.snapshot(r.e)
	r.m.mu.Unlock()
	r.m.persist(r.e, snap)
}

func (r *reporter) Dataset(d DatasetSummary) {
	r.m.mu.Lock()
	r.e.job.Dataset = d
	snap := r.m.snapshot(r.e)
	r.m.mu.Unlock()
	r.m.persist(r.e, snap)
}
