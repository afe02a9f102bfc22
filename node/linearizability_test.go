package node_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/hive-swarm/hive/node"
	"github.com/hive-swarm/hive/node/nodetest"
)

// kvInput is one operation on the swarm memory: a put of a unique value or
// a linearizable get.
type kvInput struct {
	put   bool
	key   string
	value string
}

// kvModel is a register per key; the history is partitioned by key.
var kvModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(kvInput).key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() interface{} { return "" },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		in := input.(kvInput)
		if in.put {
			return true, in.value
		}
		return output.(string) == state.(string), state
	},
	DescribeOperation: func(input, output interface{}) string {
		in := input.(kvInput)
		if in.put {
			return fmt.Sprintf("put(%s, %s)", in.key, in.value)
		}
		return fmt.Sprintf("get(%s) -> %q", in.key, output)
	},
}

// TestLinearizableMemoryUnderLeaderKill runs concurrent puts (Propose) and
// linearizable gets (View) against whichever node is the leader, kills
// the leader in the middle, and checks the history with porcupine. A put
// whose outcome is unknown (timeout, lost leadership) may take effect at
// any time after its call; a put refused as not-leader never does.
func TestLinearizableMemoryUnderLeaderKill(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	c := nodetest.NewCluster(t, 3)
	c.WaitForLeader()
	waitConfig(t, c, 3, 0)

	var (
		mu      sync.Mutex
		history []porcupine.Operation
		start   = time.Now()
		wg      sync.WaitGroup
	)
	now := func() int64 { return int64(time.Since(start)) }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	keys := []string{"x", "y", "z"}
	for client := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(client), 1))
			for seq := 0; ctx.Err() == nil; seq++ {
				li := c.Leader()
				if li < 0 {
					time.Sleep(5 * time.Millisecond)
					continue
				}
				n := c.Node(li)
				in := kvInput{key: keys[rng.IntN(len(keys))]}
				if rng.IntN(2) == 0 {
					in.put, in.value = true, fmt.Sprintf("c%d-%d", client, seq)
				}
				octx, ocancel := context.WithTimeout(ctx, 3*time.Second)
				call := now()
				var out string
				var err error
				if in.put {
					_, err = n.Propose(octx, put(in.key, in.value))
				} else {
					out, err = get(octx, n, false, in.key)
				}
				ret := now()
				ocancel()
				switch {
				case err == nil:
				case !in.put, errors.Is(err, node.ErrNotLeader), errors.Is(err, node.ErrNoLeader):
					continue // no effect on the state
				default:
					ret = math.MaxInt64 // unknown outcome: may apply at any later time
				}
				mu.Lock()
				history = append(history, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Second) // let traffic build up before the failure
	c.Kill(c.Leader())
	c.WaitForLeader()
	time.Sleep(1500 * time.Millisecond)
	cancel()
	wg.Wait()

	puts, gets, unknown := 0, 0, 0
	for _, op := range history {
		switch {
		case op.Return == math.MaxInt64:
			unknown++
		case op.Input.(kvInput).put:
			puts++
		default:
			gets++
		}
	}
	t.Logf("history: %d puts, %d gets, %d unknown outcomes", puts, gets, unknown)
	if puts == 0 || gets == 0 {
		t.Fatal("no traffic")
	}
	res, info := porcupine.CheckOperationsVerbose(kvModel, history, time.Minute)
	if res == porcupine.Illegal {
		path := filepath.Join(os.TempDir(), fmt.Sprintf("hive-linearizability-%d.html", time.Now().UnixNano()))
		if f, err := os.Create(path); err == nil {
			_ = porcupine.Visualize(kvModel, info, f)
			_ = f.Close()
			t.Logf("visualization: %s", path)
		}
		t.Fatal("history is not linearizable")
	}
	t.Logf("linearizability check: %s", res)
}
