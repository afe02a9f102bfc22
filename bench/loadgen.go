package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Op performs one operation on behalf of worker (0 ≤ worker < Clients) and
// returns nil once it is committed. Run calls Op from Clients goroutines at
// once, so it must be safe for concurrent use.
type Op func(ctx context.Context, worker int) error

// Options bound a run of the load generator. At least one of Requests and
// Duration must be set; the run ends at whichever limit is reached first.
type Options struct {
	Clients  int           // concurrent workers, each with one operation in flight; must be ≥ 1
	Requests int           // measured operations to issue in all; 0 means no limit
	Duration time.Duration // length of the measured window; 0 means no limit
	Warmup   time.Duration // operations started before this much time has passed are not measured
}

// Validate reports whether o bounds a run.
func (o Options) Validate() error {
	switch {
	case o.Clients < 1:
		return fmt.Errorf("bench: clients must be at least 1, got %d", o.Clients)
	case o.Requests < 0 || o.Duration < 0 || o.Warmup < 0:
		return errors.New("bench: requests, duration and warmup must not be negative")
	case o.Requests == 0 && o.Duration == 0:
		return errors.New("bench: a run needs a request count or a duration")
	}
	return nil
}

// Result is what one run measured. Only operations started after the
// warm-up count; Elapsed runs from the end of the warm-up to the completion
// of the last measured operation.
type Result struct {
	Clients    int               `json:"clients"`
	Ops        uint64            `json:"ops"`    // operations that committed
	Errors     uint64            `json:"errors"` // operations that failed
	ErrorKinds map[string]uint64 `json:"error_kinds,omitempty"`
	Elapsed    time.Duration     `json:"elapsed_ns"`
	Latency    *Histogram        `json:"-"` // latencies of committed operations
}

// OpsPerSec returns committed operations per second of the measured window.
func (r *Result) OpsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Elapsed.Seconds()
}

// ErrorRate returns the fraction of measured operations that failed.
func (r *Result) ErrorRate() float64 {
	total := r.Ops + r.Errors
	if total == 0 {
		return 0
	}
	return float64(r.Errors) / float64(total)
}

// Kinder is implemented by errors that know a short, stable description of
// themselves for error accounting (e.g. "503 no_leader").
type Kinder interface {
	Kind() string
}

// ErrorKind returns a short description of err that groups like failures
// together: the error's own Kind when it has one, else a classification of
// common network failures, else its message.
func ErrorKind(err error) string {
	var k Kinder
	switch {
	case errors.As(err, &k):
		return k.Kind()
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error() // drop the per-address URL
	}
	return err.Error()
}

// worker holds one goroutine's tallies, so the hot path shares nothing.
type worker struct {
	hist   Histogram
	ops    uint64
	errs   uint64
	kinds  map[string]uint64
	lastAt time.Time
}

// Run drives op from opts.Clients concurrent workers, each issuing its next
// operation as soon as the previous one returns (a closed loop), until
// opts.Requests measured operations have been issued or opts.Duration has
// passed, then waits for the operations in flight. Cancelling ctx stops the
// run early; Run then returns what was measured so far with ctx's error.
func Run(ctx context.Context, opts Options, op Op) (*Result, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	measureFrom := start.Add(opts.Warmup)
	var until time.Time
	if opts.Duration > 0 {
		until = measureFrom.Add(opts.Duration)
	}
	var tickets atomic.Int64
	workers := make([]*worker, opts.Clients)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{kinds: map[string]uint64{}}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				measured := !t0.Before(measureFrom)
				if measured {
					if !until.IsZero() && !t0.Before(until) {
						return
					}
					if opts.Requests > 0 && tickets.Add(1) > int64(opts.Requests) {
						return
					}
				}
				err := op(ctx, i)
				t1 := time.Now()
				if !measured {
					continue
				}
				if err != nil {
					if ctx.Err() != nil {
						return // aborted by the caller, not a failure of the target
					}
					w.errs++
					w.kinds[ErrorKind(err)]++
				} else {
					w.ops++
					w.hist.Record(t1.Sub(t0))
				}
				w.lastAt = t1
			}
		}()
	}
	wg.Wait()

	res := &Result{Clients: opts.Clients, Latency: NewHistogram()}
	var last time.Time
	for _, w := range workers {
		res.Ops += w.ops
		res.Errors += w.errs
		res.Latency.Merge(&w.hist)
		for k, n := range w.kinds {
			if res.ErrorKinds == nil {
				res.ErrorKinds = map[string]uint64{}
			}
			res.ErrorKinds[k] += n
		}
		if w.lastAt.After(last) {
			last = w.lastAt
		}
	}
	if last.After(measureFrom) {
		res.Elapsed = last.Sub(measureFrom)
	}
	return res, ctx.Err()
}
