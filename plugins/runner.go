package plugins

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin/runner"
)

// pipeGrace is how long the output of a dead plugin is read before its
// pipes are closed: a child the plugin left behind may hold them open.
const pipeGrace = 2 * time.Second

// procRunner runs a plugin binary as a child process for go-plugin (as its
// own command runner does), and in addition tells the host at once when
// the process ends, however long children it left behind keep its output
// open, and what the plugin said in its handshake line.
type procRunner struct {
	cmd    *exec.Cmd
	path   string
	stdout *pipeReader
	stderr *pipeReader

	done     chan struct{} // closed when the process has been reaped
	waitErr  error         // how it ended; read after done
	finished chan struct{} // closed when the reaper has closed the pipes

	mu     sync.Mutex
	pid    int
	killed bool // Kill was called: a later Start fails
}

var _ runner.Runner = (*procRunner)(nil)

// newProcRunner prepares cmd (not started) with pipes for the handshake
// and the plugin's logs.
func newProcRunner(cmd *exec.Cmd) (*procRunner, error) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	return &procRunner{
		cmd:      cmd,
		path:     cmd.Path,
		stdout:   newPipeReader(stdout, true),
		stderr:   newPipeReader(stderr, false),
		done:     make(chan struct{}),
		finished: make(chan struct{}),
	}, nil
}

// Start starts the process unless Kill came first.
func (r *procRunner) Start(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.killed {
		return errors.New("plugin launch cancelled")
	}
	if err := r.cmd.Start(); err != nil {
		return err
	}
	r.pid = r.cmd.Process.Pid
	go r.reap()
	return nil
}

// reap waits for the process, closes done, and closes the pipes once
// they are drained, or after pipeGrace.
func (r *procRunner) reap() {
	defer close(r.finished)
	state, err := r.cmd.Process.Wait()
	switch {
	case err != nil:
		r.waitErr = err
	case !state.Success():
		r.waitErr = errors.New(state.String()) // "exit status 3", "signal: killed"
	}
	close(r.done)

	grace := time.NewTimer(pipeGrace)
	defer grace.Stop()
drain:
	for _, p := range []*pipeReader{r.stdout, r.stderr} {
		select {
		case <-p.eof:
		case <-grace.C:
			break drain
		}
	}
	_ = r.stdout.Close()
	_ = r.stderr.Close()
}

// Wait waits until the process has been reaped. go-plugin calls it once,
// after the process's stdout and stderr reached their end.
func (r *procRunner) Wait(context.Context) error {
	<-r.done
	return r.waitErr
}

// waitFinished waits for the reaper of a started process.
func (r *procRunner) waitFinished() {
	if r.PID() != 0 {
		<-r.finished
	}
}

// Kill kills the process (SIGKILL); it may be called at any time, any
// number of times.
func (r *procRunner) Kill(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.killed = true
	if r.cmd.Process == nil {
		return nil
	}
	if err := r.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

// exitReason describes how the process ended; call after done.
func (r *procRunner) exitReason() error {
	if r.waitErr != nil {
		return r.waitErr
	}
	return errors.New("exit status 0")
}

// PID returns the process id, 0 before Start.
func (r *procRunner) PID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pid
}

func (r *procRunner) Stdout() io.ReadCloser { return r.stdout }
func (r *procRunner) Stderr() io.ReadCloser { return r.stderr }
func (r *procRunner) Name() string          { return r.path }

func (r *procRunner) ID() string {
	if pid := r.PID(); pid != 0 {
		return strconv.Itoa(pid)
	}
	return ""
}

func (r *procRunner) Diagnose(context.Context) string {
	return fmt.Sprintf("Check that %s is a Hive agent plugin built for %s/%s with the Hive plugin SDK, "+
		"and that it writes nothing to stdout before serving (stdout carries the handshake).",
		r.path, runtime.GOOS, runtime.GOARCH)
}

func (r *procRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

func (r *procRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}

// handshakeVersion returns the application protocol version the plugin
// announced in its handshake line, if it got that far.
func (r *procRunner) handshakeVersion() (int, bool) {
	parts := strings.Split(r.stdout.line(), "|")
	if len(parts) < 4 {
		return 0, false
	}
	v, err := strconv.Atoi(parts[1])
	return v, err == nil
}

// pipeReader is one of a plugin's output pipes. It tells when the pipe
// reached its end, and the one of stdout keeps the first line, the
// go-plugin handshake (CORE-VERSION|APP-VERSION|NETWORK|ADDR|PROTOCOL|CERT).
type pipeReader struct {
	io.ReadCloser
	eof     chan struct{}
	eofOnce sync.Once
	record  bool

	mu    sync.Mutex
	first []byte
	full  bool
}

const maxHandshakeLine = 16 << 10

func newPipeReader(rc io.ReadCloser, record bool) *pipeReader {
	return &pipeReader{ReadCloser: rc, eof: make(chan struct{}), record: record, full: !record}
}

func (p *pipeReader) Read(b []byte) (int, error) {
	n, err := p.ReadCloser.Read(b)
	if n > 0 {
		p.mu.Lock()
		if !p.full {
			chunk := b[:n]
			if i := bytes.IndexByte(chunk, '\n'); i >= 0 {
				chunk, p.full = chunk[:i], true
			}
			p.first = append(p.first, chunk...)
			if len(p.first) >= maxHandshakeLine {
				p.full = true
			}
		}
		p.mu.Unlock()
	}
	if err != nil {
		p.eofOnce.Do(func() { close(p.eof) })
	}
	return n, err
}

func (p *pipeReader) line() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.TrimSpace(string(p.first))
}
