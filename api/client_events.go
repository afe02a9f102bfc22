package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Events reaches the event stream and the dashboard endpoints.
type Events struct{ c *Client }

// Events returns the event stream part of the API.
func (c *Client) Events() *Events { return &Events{c: c} }

// EventStreamOptions select and position an event stream. The zero value
// follows every topic from now on.
type EventStreamOptions struct {
	// Topics admits only these topics (TopicWorkOrder, …); empty: all.
	Topics []string
	// WorkOrder admits only the events of this work order.
	WorkOrder string
	// Index starts the stream at this raft index (1: from the
	// beginning); 0 starts at the present. Ignored when After is set.
	Index uint64
	// After resumes after this event ID (an Event.ID or a cutoff's
	// Resume).
	After string
	// Heartbeat asks the node for a heartbeat this often on an idle
	// stream; 0 takes the node's default (15s).
	Heartbeat time.Duration
}

func (o *EventStreamOptions) values() url.Values {
	q := url.Values{"format": {"ndjson"}}
	if o == nil {
		return q
	}
	for _, t := range o.Topics {
		q.Add("topic", t)
	}
	if o.WorkOrder != "" {
		q.Set("workorder", o.WorkOrder)
	}
	switch {
	case o.After != "":
		q.Set("after", o.After)
	case o.Index > 0:
		q.Set("index", strconv.FormatUint(o.Index, 10))
	}
	if o.Heartbeat > 0 {
		q.Set("heartbeat", o.Heartbeat.String())
	}
	return q
}

// EventStream is one open connection to GET /v1/events (NDJSON). It is
// not safe for concurrent use.
type EventStream struct {
	body io.ReadCloser
	done func()
	rd   *bufio.Reader
	// LastID is the ID of the last event read that had one: the point to
	// resume after.
	LastID string
}

// Stream opens an event stream. Only the wait for the answer to begin is
// retried; read it with Next and Close it when done.
func (e *Events) Stream(ctx context.Context, opts *EventStreamOptions) (*EventStream, error) {
	req := &request{method: http.MethodGet, path: "/v1/events", query: opts.values(), retry: true, stream: true}
	resp, done, err := e.c.send(ctx, req)
	if err != nil {
		return nil, err
	}
	return &EventStream{body: resp.Body, done: done, rd: bufio.NewReaderSize(resp.Body, 64<<10)}, nil
}

// Next returns the next event, skipping heartbeats. It returns io.EOF
// when the node ended the stream (after a cutoff event, when the node
// sent one).
func (s *EventStream) Next() (*Event, error) {
	for {
		line, err := s.rd.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) == 0 {
			if err != nil {
				if errors.Is(err, io.EOF) {
					return nil, io.EOF
				}
				return nil, fmt.Errorf("api: reading the event stream: %w", err)
			}
			continue
		}
		var ev Event
		if jerr := json.Unmarshal(line, &ev); jerr != nil {
			if err != nil { // a line cut short by a dropped connection
				return nil, fmt.Errorf("api: reading the event stream: %w", err)
			}
			return nil, fmt.Errorf("api: decoding an event: %w", jerr)
		}
		if ev.Type == EventHeartbeat {
			continue
		}
		if ev.ID != "" {
			s.LastID = ev.ID
		}
		return &ev, nil
	}
}

// Close closes the stream.
func (s *EventStream) Close() error {
	err := s.body.Close()
	s.done()
	return err
}

// ErrStopFollowing may be returned by a Follow callback to end Follow
// without an error.
var ErrStopFollowing = errors.New("api: stop following")

// Follow streams events to fn until ctx is done or fn returns an error
// (ErrStopFollowing ends it with nil). When the connection drops or the
// node cuts the stream off (the subscriber fell behind, or the node is
// shutting down), Follow reconnects and resumes after the last event ID
// seen, so fn sees every event once, in order; gap and cutoff events are
// passed to fn as well. It gives up when the node cannot be reached
// within the client's retries.
func (e *Events) Follow(ctx context.Context, opts *EventStreamOptions, fn func(*Event) error) error {
	o := EventStreamOptions{}
	if opts != nil {
		o = *opts
	}
	for attempt := 1; ; attempt++ {
		s, err := e.Stream(ctx, &o)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		got := false
		for {
			ev, err := s.Next()
			if err != nil {
				break
			}
			got = true
			if ferr := fn(ev); ferr != nil {
				_ = s.Close()
				if errors.Is(ferr, ErrStopFollowing) {
					return nil
				}
				return ferr
			}
		}
		_ = s.Close()
		if s.LastID != "" {
			o.After = s.LastID // resume exactly; a stream that started at the present and saw no ID resumes from the present
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if got {
			attempt = 1
		}
		t := time.NewTimer(e.c.backoff(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Health returns the node's health. A node that is not ready answers 503
// with the same body; Health returns it with a nil error then too. Like
// the other calls it is bounded by Config.Timeout and retried on
// connection errors.
func (e *Events) Health(ctx context.Context) (*Health, error) {
	var out Health
	if err := e.c.do(ctx, &request{method: http.MethodGet, path: "/api/health", retry: true, also: http.StatusServiceUnavailable}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// MetricsSummary returns the dashboard's numbers from the node's state.
func (e *Events) MetricsSummary(ctx context.Context) (*MetricsSummary, error) {
	var out MetricsSummary
	if err := e.c.do(ctx, &request{method: http.MethodGet, path: "/api/metrics/summary", retry: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
