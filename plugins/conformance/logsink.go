package conformance

import (
	"context"
	"io"
	"strings"
	"sync"
)

// logSink keeps the host's log lines, so that a check can wait for what
// the plugin logged, and copies them to out.
type logSink struct {
	out io.Writer

	mu    sync.Mutex
	lines []string
	wake  chan struct{} // closed and replaced on every line
}

// maxLines bounds what the sink keeps.
const maxLines = 10000

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.lines) < maxLines {
		s.lines = append(s.lines, string(p))
	}
	if s.wake != nil {
		close(s.wake)
		s.wake = nil
	}
	if s.out != nil {
		_, _ = s.out.Write(p)
	}
	return len(p), nil
}

// detach stops copying lines to out: nothing is written to it after
// detach returns.
func (s *logSink) detach() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out = nil
}

// wait waits until a line contains every one of parts, or ctx ends.
func (s *logSink) wait(ctx context.Context, parts ...string) bool {
	seen := 0
	for {
		s.mu.Lock()
		for ; seen < len(s.lines); seen++ {
			if containsAll(s.lines[seen], parts) {
				s.mu.Unlock()
				return true
			}
		}
		if s.wake == nil {
			s.wake = make(chan struct{})
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return false
		case <-wake:
		}
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
