package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// agentBinDir is the directory testAgentDir builds hive-agent-test into;
// TestMain makes it and removes it at the end.
var agentBinDir string

// testAgentDir builds hive-agent-test once for all the tests that run
// the test agent and returns the directory holding it.
var testAgentDir = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "build", "-o", filepath.Join(agentBinDir, "hive-agent-test"),
		"github.com/hive-swarm/hive/agents/test").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building hive-agent-test: %w\n%s", err, out)
	}
	return agentBinDir, nil
})

// agentDir is testAgentDir's directory; it fails t when the build failed.
func agentDir(t *testing.T) string {
	t.Helper()
	dir, err := testAgentDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hive-bench-test-agent-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	agentBinDir = dir
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		_ = os.RemoveAll(dir)
		os.Exit(code)
	}))
}
