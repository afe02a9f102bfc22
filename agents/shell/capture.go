package main

import (
	"bytes"
	"strconv"
	"sync"

	"github.com/hive-swarm/hive/plugins/sdk"
)

// maxLine bounds one streamed log line; longer lines are cut into pieces.
const maxLine = 16 << 10

// capture is a command's stdout or stderr: it keeps the first maxBytes
// for the result, counts the rest, and streams up to maxLines lines to the
// node as they come.
type capture struct {
	r        sdk.Reporter
	stream   sdk.Stream
	maxBytes int
	maxLines int

	mu      sync.Mutex
	head    []byte // the first maxBytes bytes
	total   int64
	partial []byte // the unfinished last line
	lines   int
	cut     bool // the line limit was reached and said so
}

func newCapture(r sdk.Reporter, stream sdk.Stream, maxBytes, maxLines int) *capture {
	return &capture{r: r, stream: stream, maxBytes: maxBytes, maxLines: maxLines}
}

// Write is called by os/exec with the command's output.
func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total += int64(len(p))
	if room := c.maxBytes - len(c.head); room > 0 {
		c.head = append(c.head, p[:min(room, len(p))]...)
	}
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			break
		}
		c.emit(c.partial[:i])
		c.partial = c.partial[i+1:]
	}
	for len(c.partial) >= maxLine {
		c.emit(c.partial[:maxLine])
		c.partial = c.partial[maxLine:]
	}
	if len(c.partial) == 0 {
		c.partial = nil // let a big buffer go
	}
	return len(p), nil
}

// emit streams one line, within the line limit.
func (c *capture) emit(line []byte) {
	if c.lines >= c.maxLines {
		if !c.cut {
			c.cut = true
			c.r.Log(sdk.StreamAgent, c.stream.String()+": more than "+strconv.Itoa(c.maxLines)+" lines; the rest is not streamed")
		}
		return
	}
	c.lines++
	c.r.Log(c.stream, string(bytes.TrimSuffix(line, []byte("\r"))))
}

// flush streams an unfinished last line.
func (c *capture) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.partial) > 0 {
		c.emit(c.partial)
		c.partial = nil
	}
}

// record puts the kept output into a result's outputs as name, with its
// size and whether it was cut.
func (c *capture) record(outputs map[string]string, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	outputs[name] = string(c.head)
	outputs[name+"_bytes"] = strconv.FormatInt(c.total, 10)
	outputs[name+"_truncated"] = strconv.FormatBool(c.total > int64(len(c.head)))
}
