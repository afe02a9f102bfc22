package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/hive-swarm/hive/bench"
)

// benchReport is the outcome of a `hive bench create` run; -json prints it
// as is.
type benchReport struct {
	Nodes     int           `json:"nodes"`
	Local     bool          `json:"local"` // a throwaway cluster started by the bench
	Addresses []string      `json:"addresses"`
	Requests  int           `json:"requests"` // per point; 0 = bounded by duration only
	Duration  time.Duration `json:"duration_ns"`
	Warmup    time.Duration `json:"warmup_ns"`
	EntrySize int           `json:"entry_size,omitempty"` // bytes per baseline entry
	// LeaderOnly: every request went to the leader (--leader-only)
	// rather than round-robin over the nodes.
	LeaderOnly bool          `json:"leader_only,omitempty"`
	Points     []*benchPoint `json:"points"`
}

// benchPoint is one concurrency level: Hive, and bare raft when the
// baseline ran, with Hive's figures as a ratio of raft's.
type benchPoint struct {
	Clients int            `json:"clients"`
	Raft    *scenarioStats `json:"raft,omitempty"`
	Hive    *scenarioStats `json:"hive,omitempty"`
	Ratio   *ratios        `json:"ratio,omitempty"` // hive / raft
}

// scenarioStats are the figures of one scenario at one concurrency.
type scenarioStats struct {
	Ops        uint64            `json:"ops"`
	Errors     uint64            `json:"errors"`
	ErrorKinds map[string]uint64 `json:"error_kinds,omitempty"`
	Elapsed    time.Duration     `json:"elapsed_ns"`
	OpsPerSec  float64           `json:"ops_per_sec"`
	Latency    bench.Latency     `json:"latency"`
}

// ratios divide Hive's figures by raft's: above 1 is better for
// ops_per_sec, worse for latencies.
type ratios struct {
	OpsPerSec float64 `json:"ops_per_sec"`
	P50       float64 `json:"p50"`
	P95       float64 `json:"p95"`
	P99       float64 `json:"p99"`
}

func newScenarioStats(r *bench.Result) *scenarioStats {
	return &scenarioStats{
		Ops: r.Ops, Errors: r.Errors, ErrorKinds: r.ErrorKinds, Elapsed: r.Elapsed,
		OpsPerSec: r.OpsPerSec(), Latency: r.Latency.Summary(),
	}
}

// errorRate is the fraction of measured operations that failed.
func (s *scenarioStats) errorRate() float64 {
	if s == nil || s.Ops+s.Errors == 0 {
		return 0
	}
	return float64(s.Errors) / float64(s.Ops+s.Errors)
}

// measured reports whether any point has figures to print.
func (r *benchReport) measured() bool {
	for _, p := range r.Points {
		if p.Raft != nil || p.Hive != nil {
			return true
		}
	}
	return false
}

// computeRatios fills in Ratio where both scenarios ran.
func (p *benchPoint) computeRatios() {
	if p.Raft == nil || p.Hive == nil {
		return
	}
	div := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	p.Ratio = &ratios{
		OpsPerSec: div(p.Hive.OpsPerSec, p.Raft.OpsPerSec),
		P50:       div(float64(p.Hive.Latency.P50), float64(p.Raft.Latency.P50)),
		P95:       div(float64(p.Hive.Latency.P95), float64(p.Raft.Latency.P95)),
		P99:       div(float64(p.Hive.Latency.P99), float64(p.Raft.Latency.P99)),
	}
}

// writeTable prints the report for people.
func (r *benchReport) writeTable(w io.Writer) error {
	where := "cluster at " + fmt.Sprint(r.Addresses)
	if r.Local {
		where = "local cluster"
	}
	bound := fmt.Sprintf("%d requests", r.Requests)
	switch {
	case r.Requests == 0:
		bound = r.Duration.String()
	case r.Duration > 0:
		bound += " or " + r.Duration.String()
	}
	if r.LeaderOnly {
		where += ", requests to the leader only"
	}
	fmt.Fprintf(w, "%d-node %s; %s per point after a %v warm-up\n\n", r.Nodes, where, bound, r.Warmup)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-9s\tclients\tops/s\tp50\tp95\tp99\tmax\terrors\t\n", "scenario")
	for _, p := range r.Points {
		for _, s := range []struct {
			name  string
			stats *scenarioStats
		}{{"raft", p.Raft}, {"hive", p.Hive}} {
			if s.stats == nil {
				continue
			}
			l := s.stats.Latency
			fmt.Fprintf(tw, "%-9s\t%d\t%.0f\t%s\t%s\t%s\t%s\t%d\t\n", s.name, p.Clients, s.stats.OpsPerSec,
				fmtDur(l.P50), fmtDur(l.P95), fmtDur(l.P99), fmtDur(l.Max), s.stats.Errors)
		}
		if p.Ratio != nil {
			fmt.Fprintf(tw, "%-9s\t%d\t%.2fx\t%.2fx\t%.2fx\t%.2fx\t\t\t\n", "hive/raft", p.Clients,
				p.Ratio.OpsPerSec, p.Ratio.P50, p.Ratio.P95, p.Ratio.P99)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if slices.ContainsFunc(r.Points, func(p *benchPoint) bool { return p.Ratio != nil }) {
		fmt.Fprintln(w, "\nhive/raft: ops/s above 1x and latencies below 1x are in Hive's favour.")
	}
	for _, p := range r.Points {
		for i, s := range []*scenarioStats{p.Raft, p.Hive} {
			if s == nil || s.Errors == 0 {
				continue
			}
			fmt.Fprintf(w, "\n%s, %d clients: %d errors (%.2f%%):", []string{"raft", "hive"}[i], p.Clients, s.Errors, 100*s.errorRate())
			for _, kind := range slices.Sorted(maps.Keys(s.ErrorKinds)) {
				fmt.Fprintf(w, " %s ×%d;", kind, s.ErrorKinds[kind])
			}
		}
	}
	fmt.Fprintln(w)
	return nil
}

// fmtDur prints a latency with three significant digits.
func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.3gs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.3gms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.3gµs", float64(d)/float64(time.Microsecond))
	}
}
