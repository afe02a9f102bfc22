package node

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// logRingSize is how many recent log lines a node keeps for
// GET /v1/agent/logs.
const logRingSize = 1000

// logRing keeps the most recent log lines, oldest first once full.
type logRing struct {
	mu    sync.Mutex
	lines []string
	next  int // where the next line goes once the ring is full
	full  bool
}

func newLogRing(size int) *logRing {
	return &logRing{lines: make([]string, 0, size)}
}

func (r *logRing) add(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		r.lines = append(r.lines, line)
		r.full = len(r.lines) == cap(r.lines)
		return
	}
	r.lines[r.next] = line
	r.next = (r.next + 1) % len(r.lines)
}

// last returns up to n of the most recent lines, oldest first (n <= 0:
// all).
func (r *logRing) last(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ordered := make([]string, 0, len(r.lines))
	ordered = append(ordered, r.lines[r.next:]...)
	ordered = append(ordered, r.lines[:r.next]...)
	if n > 0 && n < len(ordered) {
		ordered = ordered[len(ordered)-n:]
	}
	return ordered
}

// wrap returns a logger that logs through l and also keeps each line
// logged at info level or above (or at l's level when lower) in r.
func (r *logRing) wrap(l hclog.Logger) hclog.Logger {
	return &ringLogger{Logger: l, ring: r}
}

// ringLogger is an hclog.Logger that copies its lines into a logRing.
// Lines written through StandardLogger or StandardWriter are not copied.
type ringLogger struct {
	hclog.Logger
	ring *logRing
}

func (l *ringLogger) record(level hclog.Level, msg string, args []any) {
	floor := l.Logger.GetLevel()
	if floor == hclog.NoLevel || floor > hclog.Info {
		floor = hclog.Info
	}
	if level < floor || level == hclog.Off {
		return
	}
	var b strings.Builder
	b.WriteString(time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
	fmt.Fprintf(&b, " [%s]", strings.ToUpper(level.String()))
	if name := l.Logger.Name(); name != "" {
		b.WriteString(" " + name + ":")
	}
	b.WriteString(" " + msg)
	all := append(append([]any{}, l.Logger.ImpliedArgs()...), args...)
	for i := 0; i < len(all); i += 2 {
		if i+1 < len(all) {
			fmt.Fprintf(&b, " %v=%v", all[i], all[i+1])
		} else {
			fmt.Fprintf(&b, " EXTRA_VALUE_AT_END=%v", all[i])
		}
	}
	l.ring.add(strings.ReplaceAll(b.String(), "\n", `\n`))
}

// Log logs msg at level and keeps it.
func (l *ringLogger) Log(level hclog.Level, msg string, args ...any) {
	l.record(level, msg, args)
	l.Logger.Log(level, msg, args...)
}

// Trace logs at trace level and keeps the line.
func (l *ringLogger) Trace(msg string, args ...any) { l.Log(hclog.Trace, msg, args...) }

// Debug logs at debug level and keeps the line.
func (l *ringLogger) Debug(msg string, args ...any) { l.Log(hclog.Debug, msg, args...) }

// Info logs at info level and keeps the line.
func (l *ringLogger) Info(msg string, args ...any) { l.Log(hclog.Info, msg, args...) }

// Warn logs at warn level and keeps the line.
func (l *ringLogger) Warn(msg string, args ...any) { l.Log(hclog.Warn, msg, args...) }

// Error logs at error level and keeps the line.
func (l *ringLogger) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }

// With returns a sub-logger that keeps its lines in the same ring.
func (l *ringLogger) With(args ...any) hclog.Logger {
	return &ringLogger{Logger: l.Logger.With(args...), ring: l.ring}
}

// Named returns a sub-logger that keeps its lines in the same ring.
func (l *ringLogger) Named(name string) hclog.Logger {
	return &ringLogger{Logger: l.Logger.Named(name), ring: l.ring}
}

// ResetNamed returns a sub-logger that keeps its lines in the same ring.
func (l *ringLogger) ResetNamed(name string) hclog.Logger {
	return &ringLogger{Logger: l.Logger.ResetNamed(name), ring: l.ring}
}

// recentLogs returns up to n of the node's most recent log lines.
func (n *Node) recentLogs(count int) []string {
	if n.logs == nil {
		return nil
	}
	return n.logs.last(count)
}

// logsBackend is a backend that keeps its recent log lines.
type logsBackend interface {
	recentLogs(n int) []string
}

// agentLogs handles GET /v1/agent/logs[?n=N]: the node's most recent log
// lines (at most 1000, info level and above, or the logger's level when
// lower), oldest first, as text/plain.
func (s *httpServer) agentLogs(w http.ResponseWriter, r *http.Request) {
	lb, ok := s.b.(logsBackend)
	if !ok {
		writeError(w, http.StatusNotImplemented, "unavailable", "this node keeps no log lines")
		return
	}
	count := 0
	if v := r.URL.Query().Get("n"); v != "" {
		var err error
		if count, err = strconv.Atoi(v); err != nil || count < 1 {
			writeError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("n: want a positive number of lines, got %q", v))
			return
		}
	}
	lines := lb.recentLogs(count)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var b strings.Builder
	for _, line := range lines {
		b.WriteString(line + "\n")
	}
	_, _ = w.Write([]byte(b.String()))
}
