package onnxmodel

import (
	"sync"
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

// task is one chunk of a job.
type task struct {
	j             *job
	chunk, lo, hi int
}

func (t *task) run() {
	j := t.j
	defer j.wg.Done()
	defer func() {
		if r := recover(); r != nil {
			j.setPanic(r)
		}
	}()
	j.fn(j, t.chunk, t.lo, t.hi)
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

// split runs fn over [0,n) in up to x.threads contiguous chunks and waits.
// Chunk c owns the c-th slice of any per-chunk scratch the kernel reserved.
// A panic in any chunk is re-raised in the caller after all chunks finish.
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
	j.wg.Add(chunks - 1)
	for c := 1; c < chunks; c++ {
		t := &x.tasks[c]
		t.j, t.chunk, t.lo, t.hi = j, c, c*n/chunks, (c+1)*n/chunks
		x.pool.tasks <- t
	}
	func() {
		defer func() {
			if r := recover(); r != nil {
				j.setPanic(r)
			}
		}()
		fn(j, 0, 0, n/chunks)
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
