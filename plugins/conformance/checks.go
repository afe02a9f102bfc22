package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hive-swarm/hive/plugins"
)

// kit holds what the checks share: the plugin process the first checks
// start and the host's log.
type kit struct {
	cfg    Config
	logs   *logSink
	logger hclog.Logger

	client *plugins.Client
	desc   *plugins.Description
}

func newKit(cfg Config) *kit {
	logs := &logSink{out: cfg.LogOutput}
	return &kit{
		cfg:    cfg,
		logs:   logs,
		logger: hclog.New(&hclog.LoggerOptions{Name: "conformance", Level: hclog.Debug, Output: logs}),
	}
}

func (k *kit) close() {
	if k.client != nil {
		_ = k.client.Close()
	}
	// go-plugin's stdio and log goroutines may still log a line as they
	// wind down after their process ended; Config.LogOutput is not
	// written after Run returns.
	k.logs.detach()
}

// launch starts the plugin with the probes enabled.
func (k *kit) launch(ctx context.Context, versions []int) (*plugins.Client, error) {
	return plugins.Launch(ctx, plugins.LaunchConfig{
		Path:     k.cfg.Path,
		Args:     k.cfg.Args,
		Env:      append(append([]string(nil), k.cfg.Env...), plugins.ProbeEnv+"=1"),
		Logger:   k.logger,
		Versions: versions,
	})
}

// probes reports whether the running plugin answers the conformance
// probes; otherwise why is the reason for skipping.
func (k *kit) probes() (ok bool, why string) {
	switch {
	case k.client == nil:
		return false, "needs a running plugin (see handshake)"
	case k.desc == nil:
		return false, "needs a description (see describe)"
	case !k.desc.HasFeature(plugins.FeatureConformanceProbes):
		return false, "the plugin does not answer the conformance probes (build it with the Hive plugin SDK)"
	}
	return true, ""
}

func (k *kit) handshake(ctx context.Context) (Status, string) {
	c, err := k.launch(ctx, nil)
	if err != nil {
		return Fail, err.Error()
	}
	k.client = c
	detail := fmt.Sprintf("protocol version %d, pid %d", c.Version(), c.PID())

	// Run by hand, without the magic cookie, it must explain itself and
	// exit rather than wait for a host.
	cmd := exec.CommandContext(ctx, k.cfg.Path, k.cfg.Args...)
	for _, kv := range append(os.Environ(), k.cfg.Env...) {
		if !strings.HasPrefix(kv, plugins.MagicCookieKey+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.WaitDelay = time.Second
	var stdout strings.Builder
	cmd.Stdout = &stdout
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return Fail, detail + "; run by hand (without the handshake cookie) it did not exit"
	case err == nil:
		return Fail, detail + "; run by hand (without the handshake cookie) it exited with status 0: it should refuse"
	case !errors.As(err, &ee):
		return Fail, fmt.Sprintf("%s; run by hand: %v", detail, err)
	case stdout.Len() > 0:
		return Fail, fmt.Sprintf("%s; run by hand it wrote to stdout, which carries the handshake: %q", detail, firstLine(stdout.String()))
	}
	return Pass, fmt.Sprintf("%s; run by hand it refuses with exit status %d", detail, ee.ExitCode())
}

func (k *kit) describe(ctx context.Context) (Status, string) {
	if k.client == nil {
		return Skip, "needs a running plugin (see handshake)"
	}
	d, err := k.client.Describe(ctx)
	if err != nil {
		return Fail, err.Error()
	}
	if err := d.Validate(); err != nil {
		return Fail, err.Error()
	}
	var names []string
	for _, t := range d.Types {
		if t.ConfigSchema != "" && !json.Valid([]byte(t.ConfigSchema)) {
			return Fail, fmt.Sprintf("agent type %q: the config schema is not valid JSON", t.Name)
		}
		names = append(names, t.Name)
	}
	k.desc = d
	return Pass, fmt.Sprintf("%s %s offers %s", d.Name, d.Version, strings.Join(names, ", "))
}

func (k *kit) execute(ctx context.Context) (Status, string) {
	if k.desc == nil {
		return Skip, "needs a description (see describe)"
	}
	types := k.cfg.Types
	if len(types) == 0 {
		for _, t := range k.desc.Types {
			types = append(types, t.Name)
		}
	}
	var details []string
	for i, typ := range types {
		if k.desc.Type(typ) == nil {
			return Fail, fmt.Sprintf("the plugin does not describe agent type %q", typ)
		}
		events := 0
		task := &plugins.Task{WorkOrderID: "WO-conformance-" + strconv.Itoa(i+1), Attempt: 1, Title: "conformance",
			AgentType: typ, Payload: k.cfg.Payload, Config: k.cfg.Config, Deadline: deadline(ctx)}
		res, err := k.client.Execute(ctx, task, func(plugins.Event) { events++ })
		var ae *plugins.AgentError
		switch {
		case errors.As(err, &ae):
			details = append(details, fmt.Sprintf("%s: the agent's own error (%s), %d events", typ, ae.Message, events))
		case err != nil:
			return Fail, fmt.Sprintf("%s: %v", typ, err)
		default:
			details = append(details, fmt.Sprintf("%s: exit status %d, %d events, evidence %.12s", typ, res.ExitStatus, events, res.EvidenceDigest))
		}
	}
	return Pass, strings.Join(details, "; ")
}

func (k *kit) streaming(ctx context.Context) (Status, string) {
	if ok, why := k.probes(); !ok {
		return Skip, why
	}
	const n = 500
	var (
		events []plugins.Event
		last   time.Time
	)
	res, err := k.client.Execute(ctx, probeTask("WO-conformance-stream", fmt.Sprintf(`{"probe":"stream","events":%d}`, n)),
		func(e plugins.Event) {
			events = append(events, e)
		})
	if err != nil {
		return Fail, err.Error()
	}
	if len(events) != n || res.Outputs["events"] != strconv.Itoa(n) {
		return Fail, fmt.Sprintf("%d of %d events arrived", len(events), n)
	}
	for i, e := range events {
		want := "event " + strconv.Itoa(i+1)
		if got := e.Log.Line + e.Progress.Message; got != want {
			return Fail, fmt.Sprintf("event %d is %q, want %q", i+1, got, want)
		}
		if e.Time.Before(last) {
			return Fail, fmt.Sprintf("event %d is stamped before the one before it", i+1)
		}
		last = e.Time
	}
	return Pass, fmt.Sprintf("%d progress and log events in order, then a verified result", n)
}

func (k *kit) concurrency(ctx context.Context) (Status, string) {
	if ok, why := k.probes(); !ok {
		return Skip, why
	}
	const n = 16
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := k.client.Execute(ctx, probeTask("WO-conformance-c"+strconv.Itoa(i), `{"probe":"stream","events":20}`), nil)
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			return Fail, err.Error()
		}
	}
	return Pass, fmt.Sprintf("%d tasks at once in one process", n)
}

func (k *kit) cancellation(ctx context.Context) (Status, string) {
	if ok, why := k.probes(); !ok {
		return Skip, why
	}
	nonce := newNonce()
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	_, err := k.client.Execute(tctx, probeTask("WO-conformance-cancel", `{"probe":"hang","nonce":"`+nonce+`"}`),
		func(plugins.Event) { cancel() }) // the first event: the handler runs
	if !errors.Is(err, context.Canceled) {
		return Fail, fmt.Sprintf("the cancelled task ended with %v", err)
	}
	if !k.logs.wait(ctx, "probe cancelled", nonce) {
		return Fail, "the plugin's handler did not report that its context ended"
	}
	if _, err := k.client.Execute(ctx, probeTask("WO-conformance-after-cancel", `{"probe":"noop"}`), nil); err != nil {
		return Fail, "after the cancellation: " + err.Error()
	}
	return Pass, "the handler saw its context end; the plugin carried on"
}

func (k *kit) crash(ctx context.Context) (Status, string) {
	if k.client == nil {
		return Skip, "needs a running plugin (see handshake)"
	}
	c := k.client
	probes, _ := k.probes()
	var wg sync.WaitGroup
	var heldErr error
	if probes {
		// One task holds the process while another crashes it.
		started := make(chan struct{})
		var once sync.Once
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, heldErr = c.Execute(ctx, probeTask("WO-conformance-held", `{"probe":"hang"}`),
				func(plugins.Event) { once.Do(func() { close(started) }) })
		}()
		select {
		case <-started:
		case <-ctx.Done():
			wg.Wait()
			return Fail, "the held task did not start"
		}
		_, err := c.Execute(ctx, probeTask("WO-conformance-crash", `{"probe":"crash","exit_code":3}`), nil)
		if !errors.Is(err, plugins.ErrPluginCrashed) {
			wg.Wait()
			return Fail, fmt.Sprintf("the crashing task ended with %v, want %v", err, plugins.ErrPluginCrashed)
		}
	} else if err := c.Kill(); err != nil {
		return Fail, err.Error()
	}
	wg.Wait()
	if probes && !errors.Is(heldErr, plugins.ErrPluginCrashed) {
		return Fail, fmt.Sprintf("the held task ended with %v, want %v", heldErr, plugins.ErrPluginCrashed)
	}
	select {
	case <-c.Done():
	case <-ctx.Done():
		return Fail, "the process did not end"
	}
	if _, err := c.Execute(ctx, probeTask("WO-conformance-dead", `{"probe":"noop"}`), nil); !errors.Is(err, plugins.ErrPluginCrashed) {
		return Fail, fmt.Sprintf("a task after the crash ended with %v, want %v", err, plugins.ErrPluginCrashed)
	}
	_ = c.Close()
	k.client = nil

	// It starts again, and works.
	c, err := k.launch(ctx, nil)
	if err != nil {
		return Fail, "restarting after the crash: " + err.Error()
	}
	k.client = c
	if _, err := c.Describe(ctx); err != nil {
		return Fail, "after the restart: " + err.Error()
	}
	how := "killed while idle (no probes)"
	if probes {
		how = "crashed holding a task, which failed with ErrPluginCrashed"
	}
	return Pass, how + "; it started again and answers"
}

func (k *kit) version(ctx context.Context) (Status, string) {
	const unknown = 9999
	c, err := k.launch(ctx, []int{unknown})
	if err == nil {
		_ = c.Close()
		return Fail, fmt.Sprintf("the plugin accepted protocol version %d", unknown)
	}
	var ve *plugins.VersionError
	if !errors.As(err, &ve) {
		return Fail, fmt.Sprintf("offered only version %d, the launch failed with %v, want %v", unknown, err, plugins.ErrVersionMismatch)
	}
	msg := ve.Error()
	if !strings.Contains(msg, strconv.Itoa(ve.Plugin)) || !strings.Contains(msg, strconv.Itoa(unknown)) {
		return Fail, "the error does not name both versions: " + msg
	}
	return Pass, fmt.Sprintf("offered only version %d, the plugin (version %d) was refused", unknown, ve.Plugin)
}

// deadline is ctx's deadline, or none.
func deadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

func newNonce() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
