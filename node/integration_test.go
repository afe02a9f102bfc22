package node_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/node/nodetest"
)

// TestClusterHTTP checks the wiring between the node and its HTTP layer:
// every node serves on its listener, a write sent to a follower reaches
// the leader, and a linearizable read on another follower sees it.
func TestClusterHTTP(t *testing.T) {
	c := nodetest.NewCluster(t, 3)
	li := c.WaitForLeader()
	waitConfig(t, c, 3, 0)
	f1, f2 := c.Node((li+1)%3), c.Node((li+2)%3)
	client := &http.Client{}

	body, _ := json.Marshal(api.MemoryPutRequest{Value: json.RawMessage(`"hello"`)})
	req, _ := http.NewRequestWithContext(ctxT(t), http.MethodPut, "http://"+f1.HTTPAddr()+"/v1/memory/test/greeting", bytes.NewReader(body))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT via follower: %d %s", resp.StatusCode, b)
	}

	req, _ = http.NewRequestWithContext(ctxT(t), http.MethodGet, "http://"+f2.HTTPAddr()+"/v1/memory/test/greeting", nil)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e api.MemoryEntry
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET via follower: %d %v", resp.StatusCode, err)
	}
	if string(e.Value) != `"hello"` {
		t.Fatalf("value = %s", e.Value)
	}

	// A leave asked over HTTP removes the node from the configuration.
	req, _ = http.NewRequestWithContext(ctxT(t), http.MethodPut, "http://"+f2.HTTPAddr()+"/v1/agent/leave", nil)
	resp2, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusOK {
		t.Fatalf("leave: %d", resp2.StatusCode)
	}
	waitConfig(t, c, 2, 0)
	client.CloseIdleConnections()
}
