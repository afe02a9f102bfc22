package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
)

// sameVerifiedChain waits until every agent has applied as many receipts
// as the others, then checks through each agent's CLI that its chain
// verifies and that all their exports are identical. It returns the
// export (JSON Lines).
func sameVerifiedChain(t *testing.T, agents []*agent, timeout time.Duration) string {
	t.Helper()
	var want uint64
	waitFor(t, timeout, "the same receipt count on every node", func() error {
		counts := make([]uint64, len(agents))
		for i, a := range agents {
			st, err := a.status()
			if err != nil {
				return err
			}
			counts[i] = st.Receipts
		}
		for _, c := range counts[1:] {
			if c != counts[0] {
				return fmt.Errorf("receipt counts %v", counts)
			}
		}
		want = counts[0]
		return nil
	})
	var exports []string
	for _, a := range agents {
		out := a.cli("--stale", "receipt", "verify", "--to", fmt.Sprint(want))
		if !strings.Contains(strings.ToLower(out), "ok") {
			t.Errorf("receipt verify on %s: %s", a.name, out)
		}
		exports = append(exports, a.cli("--stale", "receipt", "export", "--to", fmt.Sprint(want)))
	}
	for i := 1; i < len(exports); i++ {
		if exports[i] != exports[0] {
			t.Errorf("receipt chain of %s differs from %s's", agents[i].name, agents[0].name)
		}
	}
	return exports[0]
}

// parseReceipts decodes an export (JSON Lines) into its receipts, in
// chain order.
func parseReceipts(t *testing.T, export string) []api.Receipt {
	t.Helper()
	var out []api.Receipt
	sc := bufio.NewScanner(strings.NewReader(export))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r api.Receipt
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("receipt %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
