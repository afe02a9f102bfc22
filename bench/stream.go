package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hive-swarm/hive/node"
)

// StreamConfig configures RunStream.
type StreamConfig struct {
	// Dispatch is the dispatch bench run twice per round; its Dir gets a
	// subdirectory per run.
	Dispatch DispatchConfig
	// Subscribers is how many SSE subscribers follow GET /v1/events
	// during the runs with subscribers, spread over the nodes; default
	// 100.
	Subscribers int
	// Rounds is how many pairs of runs (without, with subscribers) to
	// make; default 3. The order alternates from one round to the next,
	// so that a drift of the machine's load weighs on both sides.
	Rounds int
}

// StreamRound is one pair of runs, without and with subscribers, and what
// the subscribers received.
type StreamRound struct {
	Plain      *DispatchResult `json:"without_subscribers"`
	Subscribed *DispatchResult `json:"with_subscribers"`
	SubscriberCounts
	// CPU time of each run, cluster start to shutdown: this process (the
	// nodes, the load generator, the subscribers) and its plugin
	// processes; 0 where not measured.
	PlainCPU      time.Duration `json:"without_cpu_ns"`
	SubscribedCPU time.Duration `json:"with_cpu_ns"`
}

// CPUOverhead is how much more CPU time the run with subscribers took
// than the run without, as a ratio (0.05: 5 % more). Unlike Slowdown it
// does not depend on how much of the machine other processes take.
func (r *StreamRound) CPUOverhead() float64 {
	if r.PlainCPU <= 0 || r.SubscribedCPU <= 0 {
		return 0
	}
	return float64(r.SubscribedCPU)/float64(r.PlainCPU) - 1
}

// DeliveredPerSec is the events per second the subscribers received,
// over the dispatch time of the run with subscribers.
func (r *StreamRound) DeliveredPerSec() float64 {
	if r.Subscribed == nil || r.Subscribed.Elapsed <= 0 {
		return 0
	}
	return float64(r.Delivered) / r.Subscribed.Elapsed.Seconds()
}

// Slowdown is how much slower dispatch ran with the subscribers attached,
// as a ratio: 0.05 is 5 % fewer completions per second (negative: faster).
func (r *StreamRound) Slowdown() float64 {
	if r.Plain == nil || r.Subscribed == nil || r.Plain.PerSec() <= 0 {
		return 0
	}
	return 1 - r.Subscribed.PerSec()/r.Plain.PerSec()
}

// StreamResult is what RunStream measured: every round, and the median
// round (by slowdown) in the embedded StreamRound.
type StreamResult struct {
	StreamRound
	Subscribers int           `json:"subscribers"`
	Rounds      []StreamRound `json:"rounds"`
}

// MedianCPUOverhead is the median over the rounds of CPUOverhead.
func (r *StreamResult) MedianCPUOverhead() float64 {
	return r.median(func(x *StreamRound) float64 { return x.CPUOverhead() })
}

// MedianDeliveredPerSec is the median over the rounds of the events per
// second the subscribers received.
func (r *StreamResult) MedianDeliveredPerSec() float64 {
	return r.median(func(x *StreamRound) float64 { return x.DeliveredPerSec() })
}

// median is the median of f over the rounds (the lower one of an even
// number).
func (r *StreamResult) median(f func(*StreamRound) float64) float64 {
	if m := lowerMedian(r.Rounds, f); m != nil {
		return f(m)
	}
	return 0
}

// lowerMedian returns the element of xs with the median key (the lower
// one of an even number), or nil when xs is empty.
func lowerMedian[T any, K cmp.Ordered](xs []T, key func(*T) K) *T {
	if len(xs) == 0 {
		return nil
	}
	order := make([]int, len(xs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(key(&xs[a]), key(&xs[b])) })
	return &xs[order[(len(order)-1)/2]]
}

// RunStream runs the dispatch bench (RunDispatch) cfg.Rounds times as it
// is and as many times with cfg.Subscribers SSE subscribers following
// every node's event stream from the start of its HTTP API, alternating,
// and reports the events they received and the dispatch slowdown of
// each round, and the median round. The subscribers attach to each node's
// HTTP API as soon as the node has started (DispatchConfig.OnStarted); a
// subscriber cut off or disconnected resumes after the last event it
// received.
func RunStream(ctx context.Context, cfg StreamConfig) (*StreamResult, error) {
	if cfg.Dispatch.Dir == "" {
		return nil, errors.New("bench: stream needs Dispatch.Dir")
	}
	if cfg.Subscribers <= 0 {
		cfg.Subscribers = 100
	}
	if cfg.Rounds <= 0 {
		cfg.Rounds = 3
	}
	d := cfg.Dispatch.withDefaults()
	res := &StreamResult{Subscribers: cfg.Subscribers}
	defer res.pickMedian() // also of the rounds made before an error
	for i := range cfg.Rounds {
		var r StreamRound
		for k := range 2 {
			var err error
			if (i+k)%2 == 0 {
				plain := d
				plain.Dir = filepath.Join(d.Dir, fmt.Sprint("plain-", i))
				cpu := cpuTime()
				if r.Plain, err = RunDispatch(ctx, plain); err != nil {
					return res, fmt.Errorf("bench: dispatch without subscribers: %w", err)
				}
				r.PlainCPU = cpuTime() - cpu
			} else if err = runSubscribed(ctx, d, cfg.Subscribers, i, &r); err != nil {
				return res, err
			}
		}
		res.Rounds = append(res.Rounds, r)
	}
	return res, nil
}

// pickMedian sets the embedded round to the median round by slowdown.
func (r *StreamResult) pickMedian() {
	if m := lowerMedian(r.Rounds, (*StreamRound).Slowdown); m != nil {
		r.StreamRound = *m
	}
}

// runSubscribed makes round i's run with subscribers into r.
func runSubscribed(ctx context.Context, d DispatchConfig, n, i int, r *StreamRound) error {
	subs := newSubscribers(n, d.Nodes)
	defer subs.close()
	sub := d
	sub.Dir = filepath.Join(d.Dir, fmt.Sprint("subscribed-", i))
	sub.OnStarted = func(n *node.Node) { subs.attach(n.HTTPAddr()) }
	cpu := cpuTime()
	var err error
	r.Subscribed, err = RunDispatch(ctx, sub)
	subs.close()
	r.SubscribedCPU = cpuTime() - cpu
	r.SubscriberCounts = subs.counts()
	if err != nil {
		return fmt.Errorf("bench: dispatch with subscribers: %w", err)
	}
	if subs.started.Load() == 0 {
		return errors.New("bench: stream: no node started; no subscriber attached")
	}
	return nil
}

// SubscriberCounts are what a set of SSE subscribers saw.
type SubscriberCounts struct {
	Connected   int    `json:"connected"`    // most subscriber streams open at once
	Delivered   uint64 `json:"delivered"`    // events received by all subscribers
	Cutoffs     uint64 `json:"cutoffs"`      // streams a node cut off (slow consumer, shutdown)
	SlowCutoffs uint64 `json:"slow_cutoffs"` // of which because the subscriber fell behind
	Reconnects  uint64 `json:"reconnects"`   // streams reopened after a cutoff or a dropped connection
}

// readBuffer is each subscriber's read buffer.
const readBuffer = 256 << 10

// subscribers are the SSE clients of one run.
type subscribers struct {
	total, nodes int
	client       *http.Client
	tr           *http.Transport
	ctx          context.Context
	cancel       context.CancelFunc
	wg           sync.WaitGroup
	once         sync.Once

	mu   sync.Mutex
	seen int // nodes attached so far

	started, connected, peak             atomic.Int64
	delivered, cutoffs, slow, reconnects atomic.Uint64
}

func newSubscribers(total, nodes int) *subscribers {
	ctx, cancel := context.WithCancel(context.Background())
	tr := &http.Transport{MaxIdleConnsPerHost: total, DisableCompression: true}
	return &subscribers{total: total, nodes: nodes, tr: tr, client: &http.Client{Transport: tr}, ctx: ctx, cancel: cancel}
}

// attach starts this node's share of the subscribers on the HTTP API at
// hostport.
func (s *subscribers) attach(hostport string) {
	s.mu.Lock()
	i := s.seen
	s.seen++
	s.mu.Unlock()
	if i >= s.nodes || s.ctx.Err() != nil {
		return
	}
	s.startOn("http://"+hostport, s.share(i))
}

// share is how many of the subscribers node i (of s.nodes) gets.
func (s *subscribers) share(i int) int {
	n := s.total / s.nodes
	if i < s.total%s.nodes {
		n++
	}
	return n
}

// startOn starts n subscribers following the event stream at base (a
// node's base URL).
func (s *subscribers) startOn(base string, n int) {
	for range n {
		s.started.Add(1)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.follow(base)
		}()
	}
}

// counts are what the subscribers saw so far.
func (s *subscribers) counts() SubscriberCounts {
	return SubscriberCounts{
		Connected:   int(s.peak.Load()),
		Delivered:   s.delivered.Load(),
		Cutoffs:     s.cutoffs.Load(),
		SlowCutoffs: s.slow.Load(),
		Reconnects:  s.reconnects.Load(),
	}
}

// close stops the subscribers and waits for them.
func (s *subscribers) close() {
	s.once.Do(func() {
		s.cancel()
		s.wg.Wait()
		s.tr.CloseIdleConnections()
	})
}

// follow reads base's SSE event stream until close, reopening it after
// the last event ID when it ends.
func (s *subscribers) follow(base string) {
	last, ever := "", false
	for first := true; s.ctx.Err() == nil; first = false {
		if !first {
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
		var ok bool
		last, ok = s.read(base, last)
		if ok && ever {
			s.reconnects.Add(1)
		}
		ever = ever || ok
	}
}

// read reads one stream connection and returns the last event ID seen
// and whether the stream opened.
func (s *subscribers) read(base, after string) (string, bool) {
	q := url.Values{"format": {"sse"}}
	if after != "" {
		q.Set("after", after)
	}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodGet, base+"/v1/events?"+q.Encode(), nil)
	if err != nil {
		return after, false
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return after, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return after, false
	}
	c := s.connected.Add(1)
	for p := s.peak.Load(); c > p && !s.peak.CompareAndSwap(p, c); p = s.peak.Load() {
	}
	defer s.connected.Add(-1)
	sc := newSSECounter(readBuffer)
	sc.total = &s.delivered
	// However the stream ended (cut off, closed, the node stopped),
	// follow resumes it after the last ID seen.
	_ = sc.readFrom(resp.Body)
	s.cutoffs.Add(sc.cutoffs)
	s.slow.Add(sc.slow)
	if sc.last != "" {
		after = sc.last
	}
	return after, true
}
