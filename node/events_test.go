package node_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/node"
	"github.com/hive-swarm/hive/node/nodetest"
)

// sseFrame is one SSE event as read off the wire.
type sseFrame struct {
	id, event string
	data      api.Event
}

// stream is an open GET /v1/events answer.
type stream struct {
	t    *testing.T
	resp *http.Response
	rd   *bufio.Reader
	ch   chan sseLine
}

type sseLine struct {
	line string
	err  error
}

// openStream GETs path on n with the given headers and checks the answer
// began with 200 and contentType.
func openStream(t *testing.T, n *node.Node, path, accept, lastID, contentType string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.HTTPAddr()+path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), contentType) {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("GET %s: %d %s %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	s := &stream{t: t, resp: resp, rd: bufio.NewReader(resp.Body), ch: make(chan sseLine, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			line, err := s.rd.ReadString('\n')
			s.ch <- sseLine{strings.TrimRight(line, "\n"), err}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
		for {
			select {
			case <-s.ch:
			case <-done:
				return
			}
		}
	})
	return s
}

// line reads one line or fails.
func (s *stream) line() string {
	s.t.Helper()
	select {
	case l := <-s.ch:
		if l.err != nil {
			s.t.Fatalf("stream ended: %v", l.err)
		}
		return l.line
	case <-time.After(nodetest.WaitTimeout):
		s.t.Fatal("no data on the stream")
	}
	return ""
}

// frame reads the next SSE event, skipping comments and the retry field,
// and checks the framing.
func (s *stream) frame() sseFrame {
	s.t.Helper()
	var f sseFrame
	var data bool
	for {
		l := s.line()
		switch {
		case l == "":
			if data {
				return f
			}
		case strings.HasPrefix(l, ":"), strings.HasPrefix(l, "retry: "):
		case strings.HasPrefix(l, "id: "):
			f.id = strings.TrimPrefix(l, "id: ")
		case strings.HasPrefix(l, "event: "):
			f.event = strings.TrimPrefix(l, "event: ")
		case strings.HasPrefix(l, "data: "):
			if data {
				s.t.Fatalf("two data lines in one event")
			}
			data = true
			if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &f.data); err != nil {
				s.t.Fatalf("data %q: %v", l, err)
			}
		default:
			s.t.Fatalf("unexpected SSE line %q", l)
		}
	}
}

// ndjson reads the next NDJSON event.
func (s *stream) ndjson() api.Event {
	s.t.Helper()
	var e api.Event
	if err := json.Unmarshal([]byte(s.line()), &e); err != nil {
		s.t.Fatal(err)
	}
	return e
}

func clientFor(t *testing.T, n *node.Node) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: "http://" + n.HTTPAddr(), HTTPClient: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func receiptsOf(t *testing.T, c *api.Client) []*api.Receipt {
	t.Helper()
	l, err := c.Receipts().List(ctxT(t), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l.Receipts
}

// TestEventStreamSSE follows the receipt topic over SSE from the first
// index: every receipt arrives once, in chain order, typed by what it
// records, with an id on the
// last event of each raft index; resuming with Last-Event-ID continues
// exactly; new commits arrive live.
func TestEventStreamSSE(t *testing.T) {
	c := nodetest.NewCluster(t, 1)
	c.WaitForLeader()
	n := c.Node(0)
	cl := clientFor(t, n)
	for i := range 4 {
		if _, err := cl.WorkOrders().Create(ctxT(t), &api.CreateWorkOrderRequest{Title: fmt.Sprint("w", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.WorkOrders().Cancel(ctxT(t), "WO-2", nil); err != nil {
		t.Fatal(err)
	}
	want := receiptsOf(t, cl)
	s := openStream(t, n, "/v1/events?topic=receipt&index=1", "text/event-stream", "", "text/event-stream")
	var frames []sseFrame
	for i, r := range want {
		f := s.frame()
		frames = append(frames, f)
		if f.event != "workorder."+r.Event || f.data.Event != r.Event || f.data.Receipt != r.Seq || f.data.Hash != r.Hash || f.data.Index != r.Index {
			t.Fatalf("event %d = %+v, want receipt %d (%s) at index %d", i, f, r.Seq, r.Hash, r.Index)
		}
		lastOfIndex := i+1 == len(want) || want[i+1].Index != r.Index
		if wantID := fmt.Sprint(r.Index); lastOfIndex != (f.id == wantID) || f.id != f.data.ID {
			t.Fatalf("event %d: id %q (data id %q), last of its index: %v", i, f.id, f.data.ID, lastOfIndex)
		}
	}
	// Live.
	if _, err := cl.WorkOrders().Create(ctxT(t), &api.CreateWorkOrderRequest{Title: "live"}); err != nil {
		t.Fatal(err)
	}
	if f := s.frame(); f.data.Receipt != uint64(len(want)+1) || f.data.WorkOrder != "WO-5" {
		t.Fatalf("live event %+v", f)
	}
	// Resume after the second event with an id, with Last-Event-ID.
	k := 0
	for ; frames[k].id == ""; k++ {
	}
	r := openStream(t, n, "/api/stream?topic=receipt", "", frames[k].id, "text/event-stream")
	if f := r.frame(); f.data.Receipt != frames[k].data.Receipt+1 {
		t.Fatalf("resumed after %q at receipt %d, want %d", frames[k].id, f.data.Receipt, frames[k].data.Receipt+1)
	}
}

// TestEventStreamNDJSON filters one work order over NDJSON, with
// heartbeats on the idle stream, and checks the query errors.
func TestEventStreamNDJSON(t *testing.T) {
	c := nodetest.NewCluster(t, 1)
	c.WaitForLeader()
	n := c.Node(0)
	cl := clientFor(t, n)
	for i := range 3 {
		if _, err := cl.WorkOrders().Create(ctxT(t), &api.CreateWorkOrderRequest{Title: fmt.Sprint("w", i)}); err != nil {
			t.Fatal(err)
		}
	}
	s := openStream(t, n, "/v1/events?topic=workorder&workorder=WO-2&index=1&heartbeat=200ms", "application/x-ndjson", "", "application/x-ndjson")
	if e := s.ndjson(); e.Type != api.EventWorkOrderCreated || e.WorkOrder != "WO-2" || e.Topic != api.TopicWorkOrder {
		t.Fatalf("first event %+v", e)
	}
	if e := s.ndjson(); e.Type != api.EventHeartbeat {
		t.Fatalf("idle stream sent %+v, want a heartbeat", e)
	}
	if _, err := cl.WorkOrders().Cancel(ctxT(t), "WO-2", nil); err != nil {
		t.Fatal(err)
	}
	for {
		e := s.ndjson()
		if e.Type == api.EventHeartbeat {
			continue
		}
		if e.Type != api.EventWorkOrderCancelled || e.WorkOrder != "WO-2" || e.From != "queued" || e.To != "cancelled" {
			t.Fatalf("got %+v, want WO-2 cancelled", e)
		}
		break
	}

	for _, q := range []string{"topic=bogus", "index=1&after=3", "after=x", "format=xml", "heartbeat=1ns", "nope=1"} {
		resp, err := http.Get("http://" + n.HTTPAddr() + "/v1/events?" + q)
		if err != nil {
			t.Fatal(err)
		}
		var body api.ErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || body.Error == nil || body.Error.Code != api.CodeInvalidArgument {
			t.Errorf("%s: %d %+v", q, resp.StatusCode, body.Error)
		}
	}
}

// TestEventStreamResumeAcrossRestart reads part of the stream, restarts
// the node, and resumes with the client's Follow after the last ID: the
// receipts continue exactly. Asking for node-local events from before
// the restart reports a gap.
func TestEventStreamResumeAcrossRestart(t *testing.T) {
	c := nodetest.NewCluster(t, 1)
	c.WaitForLeader()
	cl := clientFor(t, c.Node(0))
	for i := range 3 {
		if _, err := cl.WorkOrders().Create(ctxT(t), &api.CreateWorkOrderRequest{Title: fmt.Sprint("w", i)}); err != nil {
			t.Fatal(err)
		}
	}
	var lastID string
	var seen uint64
	err := cl.Events().Follow(ctxT(t), &api.EventStreamOptions{Topics: []string{api.TopicReceipt}, Index: 1}, func(e *api.Event) error {
		seen = e.Receipt
		lastID = e.ID
		if seen == 2 {
			return api.ErrStopFollowing
		}
		return nil
	})
	if err != nil || lastID == "" {
		t.Fatalf("follow: %v, last id %q", err, lastID)
	}
	c.Kill(0)
	c.Restart(0)
	c.WaitForLeader()
	cl = clientFor(t, c.Node(0))
	if _, err := cl.WorkOrders().Create(ctxT(t), &api.CreateWorkOrderRequest{Title: "after restart"}); err != nil {
		t.Fatal(err)
	}
	want := receiptsOf(t, cl)
	var got []uint64
	err = cl.Events().Follow(ctxT(t), &api.EventStreamOptions{Topics: []string{api.TopicReceipt}, After: lastID}, func(e *api.Event) error {
		got = append(got, e.Receipt)
		if len(got) == len(want)-2 {
			return api.ErrStopFollowing
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, seq := range got {
		if seq != want[i+2].Seq {
			t.Fatalf("after restart got receipts %v, want from %d on", got, want[2].Seq)
		}
	}
	// Node-local events from before this process started are gone.
	err = cl.Events().Follow(ctxT(t), &api.EventStreamOptions{Topics: []string{api.TopicLeader}, Index: 1}, func(e *api.Event) error {
		if e.Type != api.EventGap || e.Index <= 1 || len(e.Topics) == 0 {
			t.Fatalf("first event %+v, want a gap", e)
		}
		return api.ErrStopFollowing
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestEventStreamClusterEvents sees leader.changed and member.joined
// events of the node-local ring.
func TestEventStreamClusterEvents(t *testing.T) {
	c := nodetest.NewCluster(t, 1)
	c.WaitForLeader()
	n := c.Node(0)
	s := openStream(t, n, "/v1/events?topic=leader&topic=member&index=1", "application/x-ndjson", "", "application/x-ndjson")
	if e := s.ndjson(); e.Type != api.EventLeaderChanged || e.Leader != "node-0" || e.Observer != "node-0" || !strings.Contains(e.ID, ".") {
		t.Fatalf("first event %+v, want leader.changed to node-0 with a local cursor", e)
	}
	c.AddNode()
	for {
		e := s.ndjson()
		if e.Type == api.EventMemberJoined && e.Member == "node-1" {
			break
		}
		if e.Type == api.EventGap || e.Type == api.EventCutoff {
			t.Fatalf("unexpected %+v", e)
		}
	}
}

// TestEventStreamEndsAtShutdown shuts a node down under an open stream:
// the shutdown does not wait for the client, and the stream's last event
// is a cutoff saying why.
func TestEventStreamEndsAtShutdown(t *testing.T) {
	c := nodetest.NewCluster(t, 1)
	c.WaitForLeader()
	n := c.Node(0)
	s := openStream(t, n, "/v1/events", "text/event-stream", "", "text/event-stream")
	cl := clientFor(t, n)
	if _, err := cl.WorkOrders().Create(ctxT(t), &api.CreateWorkOrderRequest{Title: "w"}); err != nil {
		t.Fatal(err)
	}
	if f := s.frame(); f.event != api.EventWorkOrderCreated {
		t.Fatalf("first event %+v", f)
	}
	start := time.Now()
	c.Kill(0)
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("shutdown took %v with a stream open", took)
	}
	for {
		f := s.frame()
		if f.event == api.EventCutoff {
			if f.data.Code != "shutdown" || f.data.Resume == "" {
				t.Fatalf("cutoff %+v", f.data)
			}
			break
		}
	}
}

// TestEventStreamOwnConnection reads an SSE stream's raw response over
// HTTP/1.1: the node writes the head itself (the body ends when the
// connection closes), and a client that closes its connection ends its
// subscription on the node at once, without waiting for a write to fail.
func TestEventStreamOwnConnection(t *testing.T) {
	c := nodetest.NewCluster(t, 1)
	c.WaitForLeader()
	n := c.Node(0)
	conn, err := net.Dial("tcp", n.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /v1/events?heartbeat=5m HTTP/1.1\r\nHost: hive\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !resp.Close || len(resp.TransferEncoding) != 0 || resp.ContentLength != -1 ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") || resp.Header.Get("Date") == "" {
		t.Fatalf("head: %d close=%v te=%v length=%d %v", resp.StatusCode, resp.Close, resp.TransferEncoding, resp.ContentLength, resp.Header)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "retry: 2000\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	nodetest.WaitFor(t, "the subscription", func() (bool, string) {
		st := n.Events().Stats()
		return st.Subscribers == 1, fmt.Sprintf("%d subscribers", st.Subscribers)
	})
	conn.Close()
	nodetest.WaitFor(t, "the subscription to end", func() (bool, string) {
		st := n.Events().Stats()
		return st.Subscribers == 0, fmt.Sprintf("%d subscribers", st.Subscribers)
	})
}
