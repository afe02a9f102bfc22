package node

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// workerIdle is how long an idle worker of a workerPool waits for work
// before it exits.
const workerIdle = 10 * time.Second

// workerPool runs functions on reused goroutines. The writes of a
// forwarded batch each need a goroutine of their own (each waits for its
// commit); a fresh goroutine per write would grow its stack anew through
// JSON decoding every time, which showed as several percent of a busy
// leader's CPU. A worker that stays idle for workerIdle exits, and all of
// them exit once ctx is done.
type workerPool struct {
	ctx   context.Context
	tasks chan func() // unbuffered: a send succeeds only if a worker is idle

	mu      sync.Mutex
	stopped bool
	wg      sync.WaitGroup
}

func newWorkerPool(ctx context.Context) *workerPool {
	return &workerPool{ctx: ctx, tasks: make(chan func())}
}

// run runs f on an idle worker, or on a new one when none is idle. After
// the pool has been stopped f runs on a goroutine of its own.
func (p *workerPool) run(f func()) {
	select {
	case p.tasks <- f:
		return
	default:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		go f()
		return
	}
	p.wg.Add(1)
	go p.worker(f)
}

func (p *workerPool) worker(f func()) {
	defer p.wg.Done()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		f()
		idle.Reset(workerIdle)
		select {
		case f = <-p.tasks:
		case <-idle.C:
			return
		case <-p.ctx.Done():
			return
		}
	}
}

// stop waits, until ctx is done, for the workers; they exit once the
// pool's context is done and their task has returned.
func (p *workerPool) stop(ctx context.Context) error {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("workers: %w", ctx.Err())
	}
}
