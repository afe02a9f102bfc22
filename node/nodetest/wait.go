package nodetest

import (
	"testing"
	"time"
)

// WaitTimeout is how long WaitFor waits by default: generous, because the
// test machine may be slow and shared.
var WaitTimeout = 30 * time.Second

// WaitFor polls cond every 20ms until it returns true, failing the test
// with the last reason cond gave if WaitTimeout passes first.
func WaitFor(t testing.TB, what string, cond func() (ok bool, reason string)) {
	t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	for {
		ok, reason := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s: %s", WaitTimeout, what, reason)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
