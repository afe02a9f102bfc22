package nodetest

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// Logger returns an hclog logger that writes through t.Log, so only a
// failing test prints. The level comes from HIVE_TEST_LOG_LEVEL (default
// info). Lines logged after the test ends are dropped.
func Logger(t testing.TB, name string) hclog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.close)
	level := hclog.LevelFromString(os.Getenv("HIVE_TEST_LOG_LEVEL"))
	if level == hclog.NoLevel {
		level = hclog.Info
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:       name,
		Level:      level,
		Output:     w,
		TimeFormat: "15:04:05.000",
	})
}

type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

// Write implements io.Writer.
func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}
