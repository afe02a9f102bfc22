package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/hive-swarm/hive/api"
	"github.com/urfave/cli/v2"
)

func debugCommand() *cli.Command {
	return &cli.Command{
		Name:      "debug",
		Usage:     "collect the addressed node's state into one archive for a bug report",
		UsageText: "hive debug [-o FILE] [--events N]",
		Description: description(`Writes a tar.gz archive of what the node at --address serves about itself:
status.json (/v1/status: raft state, term, indexes, voters), health.json,
metrics-summary.json, metrics.prom (/metrics), members.json (with each member's
raft role), scheduler.json, andons.json, receipts-verify.json (the receipt
chain's verify report), events.ndjson (a replay of the last --events raft
indexes' events), logs.txt (the node's recent log lines, from
/v1/agent/logs, when it serves them) and, when the node runs with
--enable-debug, goroutines.txt and heap.pprof; plus manifest.json listing
every file with its source and size, or the error that kept it out. All
reads are stale (they work without a leader). -o - writes to stdout.`,
			"hive debug",
			"hive --address http://10.0.0.9:7070 debug -o node3.tar.gz",
			"hive debug -o - | tar tzf -"),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the archive to `FILE` (-: stdout; default hive-debug-NODE-TIME.tar.gz)"},
			&cli.IntFlag{Name: "events", Value: 1000, Usage: "replay the events of the last `N` raft indexes (0: none)"},
		},
		Action: debugArchive,
	}
}

// debugSource is one file of the archive and the GET that fills it.
type debugSource struct {
	name   string
	path   string
	query  url.Values
	absent string // why a failure is expected (the file is optional)
}

// debugFile is one entry of manifest.json.
type debugFile struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	Bytes  int    `json:"bytes"`
	Error  string `json:"error,omitempty"`
	Note   string `json:"note,omitempty"`
}

// debugManifest is manifest.json.
type debugManifest struct {
	Node      string      `json:"node,omitempty"`
	Address   string      `json:"address"`
	CreatedAt time.Time   `json:"created_at"`
	Files     []debugFile `json:"files"`
	Output    string      `json:"output,omitempty"`
}

var staleQuery = url.Values{"stale": {""}}

func debugSources() []debugSource {
	return []debugSource{
		{name: "status.json", path: "/v1/status", query: staleQuery},
		{name: "health.json", path: "/api/health"},
		{name: "metrics-summary.json", path: "/api/metrics/summary"},
		{name: "metrics.prom", path: "/metrics"},
		{name: "members.json", path: "/v1/members", query: staleQuery},
		{name: "scheduler.json", path: "/v1/scheduler", query: staleQuery},
		{name: "andons.json", path: "/v1/andon", query: staleQuery},
		{name: "receipts-verify.json", path: "/v1/receipts/verify", query: staleQuery},
		{name: "logs.txt", path: "/v1/agent/logs", absent: "the node serves no log endpoint"},
		{name: "goroutines.txt", path: "/debug/pprof/goroutine", query: url.Values{"debug": {"2"}}, absent: "profiles need hive agent --enable-debug"},
		{name: "heap.pprof", path: "/debug/pprof/heap", absent: "profiles need hive agent --enable-debug"},
	}
}

func debugArchive(c *cli.Context) error {
	if err := wantArgs(c, 0, 0); err != nil {
		return err
	}
	if c.Int("events") < 0 {
		return invalidf("--events: want 0 or more, got %d", c.Int("events"))
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	ctx, stop := signalContext(c)
	defer stop()
	// The status first: it names the node and fails fast when the node
	// cannot be reached.
	st, err := cl.Agent().Status(ctx, &api.QueryOptions{Stale: true})
	if err != nil {
		return err
	}
	m := &debugManifest{Node: st.Node, Address: cl.Address(), CreatedAt: now().UTC()}
	files := map[string][]byte{}
	for _, src := range debugSources() {
		var buf bytes.Buffer
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := cl.Raw(rctx, src.path, src.query, &buf)
		cancel()
		f := debugFile{Name: src.name, Source: "GET " + src.path}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			f.Error, f.Note = err.Error(), src.absent
		} else {
			f.Bytes = buf.Len()
			files[src.name] = buf.Bytes()
		}
		m.Files = append(m.Files, f)
	}
	if n := c.Int("events"); n > 0 {
		f := debugFile{Name: "events.ndjson"}
		evs, src, err := replayEvents(ctx, cl, st.AppliedIndex, n)
		f.Source = src
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			f.Error = err.Error()
		}
		if len(evs) > 0 || err == nil {
			f.Bytes, files[f.Name] = len(evs), evs
		}
		m.Files = append(m.Files, f)
	}

	out := c.String("output")
	if out == "" {
		out = fmt.Sprintf("hive-debug-%s-%s.tar.gz", st.Node, m.CreatedAt.Format("20060102T150405Z"))
	}
	var w io.Writer = c.App.Writer
	var file *os.File
	if out != "-" {
		if file, err = os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
			return invalidf("-o: %v", err)
		}
		w = file
	}
	err = writeDebugArchive(w, m, files)
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	if out == "-" {
		return nil
	}
	m.Output = out
	return output(c, m, func(w io.Writer) error {
		missing := 0
		for _, f := range m.Files {
			if f.Error != "" {
				missing++
				fmt.Fprintf(w, "  not included: %s (%s)\n", f.Name, firstNonEmpty(f.Note, f.Error))
			}
		}
		_, err := fmt.Fprintf(w, "Wrote %s: %d files from %s (%s)\n", out, len(m.Files)-missing+1, m.Node, m.Address)
		return err
	})
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// writeDebugArchive writes manifest.json and files, in manifest order, as
// a tar.gz to w.
func writeDebugArchive(w io.Writer, m *debugManifest, files map[string][]byte) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	add := func(name string, data []byte) error {
		hdr := &tar.Header{Name: "hive-debug/" + name, Mode: 0o644, Size: int64(len(data)), ModTime: m.CreatedAt, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := add("manifest.json", append(mj, '\n')); err != nil {
		return err
	}
	for _, f := range m.Files {
		if data, ok := files[f.Name]; ok {
			if err := add(f.Name, data); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// errReplayed ends a replay: the stream went idle or the limit was hit.
var errReplayed = errors.New("replay complete")

// replayEvents reads the events of the last n raft indexes up to
// applied, as NDJSON lines: it stops at the first heartbeat (the stream
// caught up and went idle), after 4n events, or after 15 seconds.
func replayEvents(ctx context.Context, cl *api.Client, applied uint64, n int) ([]byte, string, error) {
	from := uint64(1)
	if applied > uint64(n) {
		from = applied - uint64(n) + 1
	}
	q := url.Values{"format": {"ndjson"}, "index": {strconv.FormatUint(from, 10)}, "heartbeat": {"300ms"}}
	src := "GET /v1/events?" + q.Encode()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	lw := &replayWriter{limit: 4 * n}
	_, err := cl.Raw(ctx, "/v1/events", q, lw)
	if errors.Is(err, errReplayed) {
		err = nil
	}
	if err != nil && ctx.Err() != nil && lw.buf.Len() > 0 {
		err = nil // cut short by the time limit: keep what arrived
	}
	return lw.buf.Bytes(), src, err
}

// replayWriter keeps whole NDJSON event lines until a heartbeat line or
// its limit, then fails with errReplayed to end the copy.
type replayWriter struct {
	buf     bytes.Buffer
	partial []byte
	lines   int
	limit   int
}

func (r *replayWriter) Write(p []byte) (int, error) {
	r.partial = append(r.partial, p...)
	for {
		i := bytes.IndexByte(r.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := r.partial[:i+1]
		r.partial = r.partial[i+1:]
		var ev struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(line, &ev) == nil && ev.Type == api.EventHeartbeat {
			return len(p), errReplayed
		}
		r.buf.Write(line)
		if r.lines++; r.lines >= r.limit {
			return len(p), errReplayed
		}
	}
}
