package node

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hive-swarm/hive/gossip"
	"go.uber.org/goleak"
)

// TestMeasureGossipDetection measures how long memberlist, with the
// node's default gossip settings, takes to declare a killed member dead,
// and how often it wrongly declares a live one dead while the CPU is
// starved. It backs the default RequeueGrace. It only runs with
// HIVE_MEASURE_GOSSIP=1 (it takes minutes):
//
//	HIVE_MEASURE_GOSSIP=1 go test -run TestMeasureGossipDetection -v ./node
//
// HIVE_MEASURE_SPIN sets the number of busy goroutines (default 0 and
// 8·GOMAXPROCS in turn); HIVE_MEASURE_PROBE, HIVE_MEASURE_PROBE_TIMEOUT
// (durations) and HIVE_MEASURE_SUSPICION (a count) try other settings
// than the defaults.
func TestMeasureGossipDetection(t *testing.T) {
	if os.Getenv("HIVE_MEASURE_GOSSIP") != "1" {
		t.Skip("set HIVE_MEASURE_GOSSIP=1 to measure gossip failure detection")
	}
	spins := []int{0, 8 * runtime.GOMAXPROCS(0)}
	if s := os.Getenv("HIVE_MEASURE_SPIN"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		spins = []int{n}
	}
	for _, spin := range spins {
		t.Run(fmt.Sprintf("spin=%d", spin), func(t *testing.T) {
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range spin {
				wg.Add(1)
				go func() {
					defer wg.Done()
					x := 0
					for {
						select {
						case <-stop:
							return
						default:
						}
						for i := range 1_000_000 {
							x += i
						}
					}
				}()
			}
			defer func() { close(stop); wg.Wait() }()
			var det []time.Duration
			falseDead := 0
			for round := range 5 {
				d, f := measureDetection(t, round)
				det = append(det, d)
				falseDead += f
			}
			sort.Slice(det, func(i, j int) bool { return det[i] < det[j] })
			t.Logf("spin=%d detection min %s median %s max %s; false dead declarations of live members: %d",
				spin, det[0].Round(time.Millisecond), det[len(det)/2].Round(time.Millisecond), det[len(det)-1].Round(time.Millisecond), falseDead)
		})
	}
}

// measureDetection starts three members with the default settings, lets
// them run 10 s (counting false failures), kills one without a leave and
// returns the time until both others declared it dead.
func measureDetection(t *testing.T, round int) (time.Duration, int) {
	gt := DefaultConfig().Gossip
	for env, d := range map[string]*time.Duration{"HIVE_MEASURE_PROBE": &gt.ProbeInterval, "HIVE_MEASURE_PROBE_TIMEOUT": &gt.ProbeTimeout} {
		if v := os.Getenv(env); v != "" {
			var err error
			if *d, err = time.ParseDuration(v); err != nil {
				t.Fatalf("%s: %v", env, err)
			}
		}
	}
	if v := os.Getenv("HIVE_MEASURE_SUSPICION"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("HIVE_MEASURE_SUSPICION: %v", err)
		}
		gt.SuspicionMult = n
	}
	base := goleak.IgnoreCurrent()
	var falseDead atomic.Int32
	var killedAt atomic.Int64
	detected := make(chan time.Time, 4)
	var gs []*gossip.Gossip
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := range 3 {
		ch := make(chan gossip.Event, 64)
		g, err := gossip.New(gossip.Config{
			Name: fmt.Sprintf("m%d-%d", round, i), BindAddr: "127.0.0.1", Events: ch,
			ProbeInterval: gt.ProbeInterval, ProbeTimeout: gt.ProbeTimeout, GossipInterval: gt.GossipInterval,
			PushPullInterval: gt.PushPullInterval, SuspicionMult: gt.SuspicionMult, TCPTimeout: gt.TCPTimeout,
		})
		if err != nil {
			t.Fatal(err)
		}
		gs = append(gs, g)
		victim := fmt.Sprintf("m%d-2", round)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case ev := <-ch:
					if ev.Type != gossip.EventFailed {
						continue
					}
					if ev.Member.Name == victim && killedAt.Load() != 0 {
						detected <- time.Now()
					} else {
						falseDead.Add(1)
					}
				case <-stop:
					return
				}
			}
		}()
	}
	defer func() {
		close(stop)
		wg.Wait()
		for _, g := range gs[:2] {
			_ = g.Shutdown()
		}
		// memberlist's probe goroutines outlive Shutdown by up to a
		// probe interval.
		for deadline := time.Now().Add(10 * time.Second); goleak.Find(base) != nil && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
		}
	}()
	for _, g := range gs[1:] {
		if _, err := g.Join([]string{gs[0].Addr()}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(10 * time.Second)
	start := time.Now()
	killedAt.Store(start.UnixNano())
	_ = gs[2].Shutdown() // no leave: a crash as the others see it
	var last time.Time
	for range 2 {
		select {
		case at := <-detected:
			last = at
		case <-time.After(2 * time.Minute):
			t.Fatal("no failure detected in 2m")
		}
	}
	return last.Sub(start), int(falseDead.Load())
}
