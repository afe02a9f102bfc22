package bench

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawServer answers each request on a connection with the next canned
// answer; an answer ending in "CLOSE" closes the connection after it.
type rawServer struct {
	ln      net.Listener
	mu      sync.Mutex
	answers []string
	conns   int
	bodies  []string
	wg      sync.WaitGroup
}

func newRawServer(t *testing.T, answers ...string) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln, answers: answers}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *rawServer) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, _ := io.ReadAll(req.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, string(body))
		if len(s.answers) == 0 {
			s.mu.Unlock()
			return
		}
		a := s.answers[0]
		s.answers = s.answers[1:]
		s.mu.Unlock()
		a, closeAfter := strings.CutSuffix(a, "CLOSE")
		if _, err := io.WriteString(c, a); err != nil || closeAfter {
			return
		}
	}
}

func (s *rawServer) stats() (conns int, bodies []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns, append([]string(nil), s.bodies...)
}

const created = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{\"id\":\"WO-1\"}\n"

func TestRawClientAnswers(t *testing.T) {
	s := newRawServer(t,
		created,
		"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\n{\"id\r\n9\r\n\":\"WO-2\"}\r\n0\r\nTrailer: a\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\nContent-Length: 58\r\n\r\n{\"error\":{\"code\":\"no_leader\",\"message\":\"no leader known\"}}",
		"HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}CLOSE",
		"HTTP/1.0 201 Created\r\n\r\n{\"id\":\"WO-3\"}CLOSE",
		created,
	)
	target, err := NewHTTPCreate([]string{s.ln.Addr().String()}, 1, 5*time.Second, "raw")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if target.raw == nil {
		t.Fatal("an http:// target does not use the lean client")
	}
	ctx := context.Background()
	for i, want := range []string{"", "", "503 no_leader", "", "", ""} {
		err := target.Op(ctx, 0)
		switch {
		case want == "" && err != nil:
			t.Fatalf("request %d: %v", i, err)
		case want != "" && (err == nil || ErrorKind(err) != want):
			t.Fatalf("request %d: error %v, want %s", i, err, want)
		}
	}
	// Connection: close and an HTTP/1.0 answer each end a connection.
	conns, bodies := s.stats()
	if conns != 3 || len(bodies) != 6 {
		t.Fatalf("%d connections for %d requests, want 3 for 6", conns, len(bodies))
	}
	for i, b := range bodies {
		if !strings.Contains(b, `"request_id":"bench-raw-`) {
			t.Fatalf("body %d: %s", i, b)
		}
	}
}

func TestRawClientRetriesStaleKeepAlive(t *testing.T) {
	// The server answers once per connection, then closes it without
	// saying so: the next request on that connection finds it closed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var requests int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			req, err := http.ReadRequest(bufio.NewReader(c))
			if err == nil {
				_, _ = io.Copy(io.Discard, req.Body)
				mu.Lock()
				requests++
				mu.Unlock()
				_, _ = io.WriteString(c, created)
			}
			c.Close()
		}
	}()
	defer func() { ln.Close(); wg.Wait() }()

	target, err := NewHTTPCreate([]string{"http://" + ln.Addr().String()}, 1, 5*time.Second, "stale")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	for i := range 3 {
		if err := target.Op(context.Background(), 0); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if requests != 3 {
		t.Fatalf("server saw %d requests, want 3", requests)
	}
}

func TestRawClientCancelAndTimeout(t *testing.T) {
	// A server that never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var held []net.Conn
	var mu sync.Mutex
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		ln.Close()
		wg.Wait()
		for _, c := range held {
			c.Close()
		}
	}()

	target, err := NewHTTPCreate([]string{ln.Addr().String()}, 2, 100*time.Millisecond, "slow")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := target.Op(context.Background(), 0); ErrorKind(err) != "timeout" {
		t.Fatalf("unanswered request: %v (%s), want a timeout", err, ErrorKind(err))
	}
	target.raw.timeout = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- target.Op(ctx, 1) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled request: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a cancelled request did not return")
	}
	if err := target.Op(context.Background(), 2); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("worker out of range: %v", err)
	}
}
