package onnxmodel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// workerPool is a fixed set of goroutines, owned by one Model, that run the
// chunks of parallel loops. Dispatch sends a pointer to a pre-made task over
// a channel, so a parallel loop allocates nothing.
type workerPool struct {
	tasks chan *task
	wg    sync.WaitGroup
	once  sync.Once
}

// newWorkerPool starts n helper goroutines; the goroutine that calls split
// always runs one chunk itself, so a pool of threads-1 helpers keeps
// threads cores busy.
func newWorkerPool(n int) *workerPool {
	wp := &workerPool{tasks: make(chan *task, 4*n)}
	wp.wg.Add(n)
	for range n {
		go func() {
			defer wp.wg.Done()
			for t := range wp.tasks {
				t.run()
			}
		}()
	}
	return wp
}

// close stops the helpers after the queued tasks are done.
func (wp *workerPool) close() {
	wp.once.Do(func() {
		close(wp.tasks)
		wp.wg.Wait()
	})
}

// job is one parallel loop: fn is a plain function (not a closure) and arg
// the kernel's build-time state, so starting a loop allocates nothing.
type job struct {
	fn        func(j *job, chunk, lo, hi int)
	arg       any
	ins, outs []*value
	ws        []float32
	f         func(lo, hi int) // for exec.parallel
	n, grain  int
	next      atomic.Int64 // first item not yet claimed

	wg       sync.WaitGroup
	mu       sync.Mutex
	panicked any
}

func (j *job) setPanic(r any) {
	j.mu.Lock()
	if j.panicked == nil {
		j.panicked = r
	}
	j.mu.Unlock()
}

// task is one helper's share of a job.
type task struct {
	j     *job
	chunk int
}

func (t *task) run() {
	j := t.j
	defer j.wg.Done()
	defer func() {
		if r := recover(); r != nil {
			j.setPanic(r)
		}
	}()
	j.drain(t.chunk)
}

// drain claims ranges of grain items until none are left, so that a
// participant that is descheduled (the machine is shared) delays only the
// range it holds.
func (j *job) drain(chunk int) {
	for {
		lo := int(j.next.Add(int64(j.grain))) - j.grain
		if lo >= j.n {
			return
		}
		j.fn(j, chunk, lo, min(lo+j.grain, j.n))
	}
}

// newExec returns the per-run state for a plan with the given workspace.
func newExec(ws, threads int, wp *workerPool) *exec {
	threads = max(threads, 1)
	x := &exec{ws: make([]float32, ws), threads: threads, pool: wp, tasks: make([]task, threads)}
	if wp == nil {
		x.threads = 1
	}
	x.parallel = x.parallelClosure
	return x
}

// split runs fn over [0,n) on up to x.threads goroutines and waits. Each
// participant c (the caller is 0) claims contiguous ranges of items until
// none are left and passes c as chunk, so chunk c owns the c-th slice of any
// per-participant scratch the kernel reserved. A panic in any participant
// is re-raised in the caller after all have finished.
func (x *exec) split(n int, fn func(j *job, chunk, lo, hi int), arg any, ins, outs []*value) {
	j := &x.job
	j.fn, j.arg, j.ins, j.outs, j.ws = fn, arg, ins, outs, x.ws
	chunks := min(x.threads, n)
	if chunks <= 1 || x.pool == nil {
		if n > 0 {
			fn(j, 0, 0, n)
		}
		return
	}
	// Four ranges per participant balance the load without much
	// contention on the counter.
	j.n, j.grain = n, max(1, n/(4*chunks))
	j.next.Store(0)
	j.wg.Add(chunks - 1)
	for c := 1; c < chunks; c++ {
		t := &x.tasks[c]
		t.j, t.chunk = j, c
		x.pool.tasks <- t
	}
	// A helper woken by the send above goes to this goroutine's P as the
	// next goroutine to run, where an idle P steals it only after tens of
	// microseconds: measured, helpers started 70-140 µs into a loop.
	// Yielding runs the helper here at once and moves the caller to the
	// global queue, from which the idle P takes it within 10-30 µs
	// (ResNet50 batch 1, 2 threads: 44-47 -> 41-45 ms/image).
	runtime.Gosched()
	func() {
		defer func() {
			if r := recover(); r != nil {
				j.setPanic(r)
			}
		}()
		j.drain(0)
	}()
	j.wg.Wait()
	if p := j.panicked; p != nil {
		j.panicked = nil
		panic(p)
	}
}

func callClosure(j *job, _, lo, hi int) { j.f(lo, hi) }

// parallelClosure implements exec.parallel on top of split.
func (x *exec) parallelClosure(n int, f func(lo, hi int)) {
	x.job.f = f
	x.split(n, callClosure, nil, nil, nil)
	x.job.f = nil
}
