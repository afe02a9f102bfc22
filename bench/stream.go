package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// StreamConfig configures RunStream.
type StreamConfig struct {
	// Dispatch is the dispatch bench run twice; its Dir gets a
	// subdirectory per run.
	Dispatch DispatchConfig
	// Subscribers is how many SSE subscribers follow GET /v1/events
	// during the second run, spread over the nodes; default 100.
	Subscribers int
}

// StreamResult is what RunStream measured.
type StreamResult struct {
	Plain       *DispatchResult `json:"without_subscribers"`
	Subscribed  *DispatchResult `json:"with_subscribers"`
	Subscribers int             `json:"subscribers"`
	Connected   int             `json:"connected"`    // most subscriber streams open at once
	Delivered   uint64          `json:"delivered"`    // events received by all subscribers
	Cutoffs     uint64          `json:"cutoffs"`      // streams a node cut off (slow consumer, shutdown)
	SlowCutoffs uint64          `json:"slow_cutoffs"` // of which because the subscriber fell behind
	Reconnects  uint64          `json:"reconnects"`   // streams reopened after a cutoff or a dropped connection
}

// DeliveredPerSec is the events per second the subscribers received,
// over the second run's dispatch time.
func (r *StreamResult) DeliveredPerSec() float64 {
	if r.Subscribed == nil || r.Subscribed.Elapsed <= 0 {
		return 0
	}
	return float64(r.Delivered) / r.Subscribed.Elapsed.Seconds()
}

// Slowdown is how much slower dispatch ran with the subscribers attached,
// as a ratio: 0.05 is 5 % fewer completions per second (negative: faster).
func (r *StreamResult) Slowdown() float64 {
	if r.Plain == nil || r.Subscribed == nil || r.Plain.PerSec() <= 0 {
		return 0
	}
	return 1 - r.Subscribed.PerSec()/r.Plain.PerSec()
}

// RunStream runs the dispatch bench (RunDispatch) once as it is and once
// with cfg.Subscribers SSE subscribers following every node's event
// stream from the start of its HTTP API, and reports the events they
// received and the dispatch slowdown. The subscribers find the nodes'
// HTTP addresses in their "node started" log lines (RunDispatch keeps its
// cluster to itself); a subscriber cut off or disconnected resumes after
// the last event it received.
func RunStream(ctx context.Context, cfg StreamConfig) (*StreamResult, error) {
	if cfg.Dispatch.Dir == "" {
		return nil, errors.New("bench: stream needs Dispatch.Dir")
	}
	if cfg.Subscribers <= 0 {
		cfg.Subscribers = 100
	}
	d := cfg.Dispatch.withDefaults()
	res := &StreamResult{Subscribers: cfg.Subscribers}

	plain := d
	plain.Dir = filepath.Join(d.Dir, "plain")
	var err error
	if res.Plain, err = RunDispatch(ctx, plain); err != nil {
		return res, fmt.Errorf("bench: dispatch without subscribers: %w", err)
	}

	subs := newSubscribers(cfg.Subscribers, d.Nodes)
	defer subs.close()
	sub := d
	sub.Dir = filepath.Join(d.Dir, "subscribed")
	sub.Logger = &addrLogger{Logger: d.Logger, found: subs.attach}
	res.Subscribed, err = RunDispatch(ctx, sub)
	subs.close()
	res.Connected = int(subs.peak.Load())
	res.Delivered, res.Cutoffs, res.Reconnects = subs.delivered.Load(), subs.cutoffs.Load(), subs.reconnects.Load()
	res.SlowCutoffs = subs.slow.Load()
	if err != nil {
		return res, fmt.Errorf("bench: dispatch with subscribers: %w", err)
	}
	if subs.started.Load() == 0 {
		return res, errors.New("bench: stream: no node HTTP address seen in the logs; no subscriber attached")
	}
	return res, nil
}

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
	n := s.total / s.nodes
	if i < s.total%s.nodes {
		n++
	}
	for range n {
		s.started.Add(1)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.follow("http://" + hostport)
		}()
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
	// Count events without parsing them, so that the subscribers cost
	// this process (which also runs the cluster) as little as they can:
	// every SSE event has one "data:" line, and the last "id: " line is
	// the cursor to resume after. A line split across reads is rare and
	// only costs a miscount of one.
	buf := make([]byte, 64<<10)
	var tail []byte // the incomplete last line of the previous read
	for {
		n, err := resp.Body.Read(buf)
		chunk := buf[:n]
		if len(tail) > 0 {
			chunk = append(tail, chunk...)
		}
		cut := bytes.LastIndexByte(chunk, '\n') + 1
		lines := chunk[:cut]
		s.delivered.Add(uint64(bytes.Count(lines, []byte("\ndata: "))))
		if bytes.HasPrefix(lines, []byte("data: ")) {
			s.delivered.Add(1)
		}
		if c := bytes.Count(lines, []byte("event: cutoff\n")); c > 0 {
			s.cutoffs.Add(uint64(c))
			s.slow.Add(uint64(bytes.Count(lines, []byte(`"slow_consumer"`))))
		}
		if i := bytes.LastIndex(lines, []byte("id: ")); i >= 0 && (i == 0 || lines[i-1] == '\n') {
			if j := bytes.IndexByte(lines[i:], '\n'); j > 0 {
				after = string(lines[i+len("id: ") : i+j])
			}
		}
		tail = append(tail[:0:0], chunk[cut:]...)
		if err != nil {
			return after, true
		}
	}
}

// addrLogger passes every line to Logger and reports the "http" value of
// each "node started" line to found, whatever the level.
type addrLogger struct {
	hclog.Logger
	found func(hostport string)
}

// Log logs and looks for a node's HTTP address.
func (l *addrLogger) Log(level hclog.Level, msg string, args ...any) {
	l.look(msg, args)
	l.Logger.Log(level, msg, args...)
}

// Info logs at info level and looks for a node's HTTP address.
func (l *addrLogger) Info(msg string, args ...any) {
	l.look(msg, args)
	l.Logger.Info(msg, args...)
}

func (l *addrLogger) look(msg string, args []any) {
	if msg != "node started" {
		return
	}
	for i := 0; i+1 < len(args); i += 2 {
		if k, _ := args[i].(string); k == "http" {
			if addr := fmt.Sprint(args[i+1]); addr != "" {
				l.found(addr)
			}
		}
	}
}

// With returns a sub-logger that still looks for addresses.
func (l *addrLogger) With(args ...any) hclog.Logger {
	return &addrLogger{Logger: l.Logger.With(args...), found: l.found}
}

// Named returns a sub-logger that still looks for addresses.
func (l *addrLogger) Named(name string) hclog.Logger {
	return &addrLogger{Logger: l.Logger.Named(name), found: l.found}
}

// ResetNamed returns a sub-logger that still looks for addresses.
func (l *addrLogger) ResetNamed(name string) hclog.Logger {
	return &addrLogger{Logger: l.Logger.ResetNamed(name), found: l.found}
}
