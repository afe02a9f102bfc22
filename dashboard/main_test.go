package dashboard_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// leakGrace is how long TestMain lets goroutines wind down after the
// tests. memberlist's Shutdown does not wait for a probe in flight; such
// a probe ends on its own once its timeout (the probe interval, scaled
// up by memberlist's awareness while peers are dead) has passed, which
// can exceed goleak's own retry window of about a second.
const leakGrace = 10 * time.Second

// TestMain fails the package's tests if any goroutine outlives them.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(leakGrace)
		for {
			err := goleak.Find()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				fmt.Fprintln(os.Stderr, "goleak:", err)
				code = 1
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	os.Exit(code)
}
