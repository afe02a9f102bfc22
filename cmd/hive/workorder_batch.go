package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/hive-swarm/hive/api"
	"github.com/urfave/cli/v2"
)

// maxCreateLine bounds one line of a --file: a create body is at most
// 1 MiB on the server.
const maxCreateLine = 1 << 20

// fileFlag is wo create's --file.
func fileFlag() cli.Flag {
	return &cli.StringFlag{Name: "file", Usage: "create one work order per line of a JSON Lines `FILE` " +
		"(each line a POST /v1/workorders body; - reads standard input), sent in batches of up to " +
		strconv.Itoa(api.MaxBatchWorkOrders) + "; prints the IDs"}
}

// lineCreate is one create read from a line of a --file.
type lineCreate struct {
	line int
	req  *api.CreateWorkOrderRequest
}

// woCreateFile is `hive wo create --file FILE`: every line is checked
// before anything is sent; the creates go in batches of up to
// api.MaxBatchWorkOrders (POST /v1/workorders/batch), each one raft entry,
// and the created IDs are printed in line order. A bad line fails the
// command naming it; an item the cluster refused when applying its batch
// (an unknown dependency, say) is printed and fails the command at the
// end, after the others were created.
func woCreateFile(c *cli.Context) error {
	if err := wantArgs(c, 0, 0); err != nil {
		return err
	}
	for _, name := range c.LocalFlagNames() {
		if name != "file" && name != "request-id" {
			return usagef("--file takes every field from the file; --%s cannot be combined with it", name)
		}
	}
	path := c.String("file")
	creates, err := readCreateFile(c, path)
	if err != nil {
		return err
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	key := c.String("request-id")
	out := &api.CreateWorkOrderBatchResponse{WorkOrders: make([]*api.BatchItem, 0, len(creates))}
	for start := 0; start < len(creates); start += api.MaxBatchWorkOrders {
		batch := creates[start:min(start+api.MaxBatchWorkOrders, len(creates))]
		reqs := make([]*api.CreateWorkOrderRequest, len(batch))
		for i, lc := range batch {
			reqs[i] = lc.req
		}
		var opts *api.BatchOptions
		if key != "" {
			// One key per batch, so that rerunning the same command with
			// the same --request-id creates nothing twice.
			opts = &api.BatchOptions{IdempotencyKey: key + "." + strconv.Itoa(start/api.MaxBatchWorkOrders+1)}
		}
		items, err := cl.WorkOrders().CreateBatch(c.Context, reqs, opts)
		if err != nil {
			return batchLineError(err, batch, len(out.WorkOrders))
		}
		out.WorkOrders = append(out.WorkOrders, items...)
	}
	var refused []string
	code := ""
	for i, it := range out.WorkOrders {
		if it.Error != nil {
			refused = append(refused, fmt.Sprintf("line %d: %s", creates[i].line, it.Error.Message))
			if code == "" {
				code = it.Error.Code
			}
		}
	}
	if err := output(c, out, func(w io.Writer) error {
		t := newTable(w, "LINE", "ID", "STATE", "TITLE")
		for i, it := range out.WorkOrders {
			if it.Error != nil {
				t.row(creates[i].line, "", "refused ("+it.Error.Code+")", creates[i].req.Title)
				continue
			}
			t.row(creates[i].line, it.ID, stateText(it.WorkOrder), it.Title)
		}
		return t.flush()
	}); err != nil {
		return err
	}
	if len(refused) > 0 {
		return &cliError{code: code, msg: fmt.Sprintf("%d of %d work orders refused, the others were created: %s",
			len(refused), len(out.WorkOrders), strings.Join(refused, "; "))}
	}
	return nil
}

// readCreateFile reads the creates of a JSON Lines file ("-": standard
// input), skipping blank lines, and refuses the first bad line by number.
func readCreateFile(c *cli.Context, path string) ([]lineCreate, error) {
	b, err := readFile(c, path)
	if err != nil {
		return nil, invalidf("--file: %v", err)
	}
	creates, err := parseCreateLines(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	if len(creates) == 0 {
		return nil, invalidf("--file %s: no work orders (one JSON object per line)", path)
	}
	return creates, nil
}

// parseCreateLines decodes one create per non-blank line, strictly: no
// unknown fields, a title.
func parseCreateLines(rd io.Reader) ([]lineCreate, error) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 64<<10), maxCreateLine)
	var out []lineCreate
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var req api.CreateWorkOrderRequest
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return nil, invalidf("line %d: %v", line, strings.TrimPrefix(err.Error(), "json: "))
		}
		if dec.More() {
			return nil, invalidf("line %d: more than one JSON value; put one work order per line", line)
		}
		if strings.TrimSpace(req.Title) == "" {
			return nil, invalidf("line %d: title: required", line)
		}
		out = append(out, lineCreate{line: line, req: &req})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, invalidf("line %d: longer than %d bytes", line+1, maxCreateLine)
		}
		return nil, invalidf("--file: %v", err)
	}
	return out, nil
}

// batchLineError rewrites the server's "workorders[i]: ..." refusal of a
// batch into "line N: ...", noting the work orders earlier batches
// created.
func batchLineError(err error, batch []lineCreate, created int) error {
	ae := api.AsError(err)
	if ae == nil {
		return err
	}
	e := *ae
	if rest, ok := strings.CutPrefix(e.Message, "workorders["); ok {
		if n, tail, ok := strings.Cut(rest, "]: "); ok {
			if i, err := strconv.Atoi(n); err == nil && i >= 0 && i < len(batch) {
				e.Message = "line " + strconv.Itoa(batch[i].line) + ": " + tail
			}
		}
	}
	if created > 0 {
		e.Message += fmt.Sprintf(" (the %d work orders of the lines before line %d were created)", created, batch[0].line)
	}
	return &e
}
