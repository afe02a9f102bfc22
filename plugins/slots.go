package plugins

import (
	"context"
	"sync"
)

// slots is a counting semaphore whose limit may change while tasks wait.
type slots struct {
	mu    sync.Mutex
	limit int
	used  int
	wake  chan struct{} // closed and replaced when a slot may have freed
}

func newSlots(limit int) *slots {
	return &slots{limit: limit, wake: make(chan struct{})}
}

// acquire takes a slot, waiting until one is free or ctx ends (then it
// returns the context's cause).
func (s *slots) acquire(ctx context.Context) error {
	for {
		s.mu.Lock()
		if s.used < s.limit {
			s.used++
			s.mu.Unlock()
			return nil
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-wake:
		}
	}
}

// release gives a slot back.
func (s *slots) release() {
	s.mu.Lock()
	s.used--
	s.broadcast()
	s.mu.Unlock()
}

// setLimit changes the number of slots; tasks already running keep
// theirs.
func (s *slots) setLimit(n int) {
	s.mu.Lock()
	s.limit = n
	s.broadcast()
	s.mu.Unlock()
}

// counts returns the slots in use and the limit.
func (s *slots) counts() (used, limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used, s.limit
}

func (s *slots) broadcast() {
	close(s.wake)
	s.wake = make(chan struct{})
}
