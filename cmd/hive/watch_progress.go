package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hive-swarm/hive/api"
)

// terminalWriter is a writer that says whether it is a terminal; tests
// pass one to exercise the terminal display without a pty.
type terminalWriter interface {
	IsTerminal() bool
}

// progress is what a running work order last reported, parsed from its
// progress note ("sleep 40%: …", "3/5 files").
type progress struct {
	ID      string
	State   string
	Stage   string
	Percent float64 // -1: none reported
	Step    string  // "3/5" when the note has one
	Note    string
	Started time.Time // zero: unknown
	ETA     time.Time // zero: unknown
	Guessed bool      // ETA extrapolated from percent and elapsed time
}

var (
	percentRE = regexp.MustCompile(`(\d+(?:\.\d+)?)\s*%`)
	stepRE    = regexp.MustCompile(`\b(\d+)\s*/\s*(\d+)\b`)
)

// progressOf reads the progress of wo, as of now.
func progressOf(wo *api.WorkOrder, now time.Time) progress {
	p := progress{ID: wo.ID, State: wo.State, Stage: wo.Stage, Percent: -1, Note: wo.Progress}
	if m := percentRE.FindStringSubmatch(wo.Progress); m != nil {
		if v, err := strconv.ParseFloat(m[1], 64); err == nil && v >= 0 && v <= 100 {
			p.Percent = v
		}
	}
	if m := stepRE.FindString(wo.Progress); m != "" {
		p.Step = strings.ReplaceAll(m, " ", "")
	}
	if p.Stage == "" {
		// The executor's notes start with the stage: "sleep 40%: …".
		if i := strings.Index(wo.Progress, " "); i > 0 && p.Percent >= 0 && strings.HasPrefix(wo.Progress[i+1:], strconv.FormatFloat(p.Percent, 'f', -1, 64)) {
			p.Stage = wo.Progress[:i]
		}
	}
	if wo.StartedAt != nil {
		p.Started = *wo.StartedAt
	}
	switch {
	case wo.PredictedFinish != nil:
		p.ETA = *wo.PredictedFinish
	case p.Percent > 0 && p.Percent < 100 && !p.Started.IsZero() && now.After(p.Started):
		elapsed := now.Sub(p.Started)
		p.ETA = now.Add(time.Duration(float64(elapsed) * (100 - p.Percent) / p.Percent))
		p.Guessed = true
	}
	return p
}

// line renders p as one line, elapsed and ETA measured at now.
func (p progress) line(now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", p.ID, p.State)
	if p.Stage != "" {
		b.WriteString(" stage=" + p.Stage)
	}
	if p.Percent >= 0 {
		fmt.Fprintf(&b, " %s %.0f%%", bar(p.Percent, 20), p.Percent)
	} else if p.Step != "" {
		b.WriteString(" step " + p.Step)
	}
	if !p.Started.IsZero() {
		b.WriteString(" elapsed " + roundDur(now.Sub(p.Started)))
	}
	if !p.ETA.IsZero() {
		left := p.ETA.Sub(now)
		if left < 0 {
			left = 0
		}
		eta := "eta " + roundDur(left)
		if p.Guessed {
			eta = "eta ~" + roundDur(left)
		}
		b.WriteString(" " + eta)
	}
	if p.Note != "" {
		b.WriteString(" | " + p.Note)
	}
	return b.String()
}

// bar draws percent as a bar of width cells.
func bar(percent float64, width int) string {
	n := int(percent / 100 * float64(width))
	n = min(max(n, 0), width)
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

// roundDur renders d to the second ("1m5s").
func roundDur(d time.Duration) string {
	return d.Round(time.Second).String()
}

// progressView shows the progress of running work orders: on a terminal
// as a block of lines under the event lines, redrawn in place with ANSI
// escapes (and every second, for the elapsed time); elsewhere as one
// plain "progress …" line each time a work order's progress changes.
type progressView struct {
	w    io.Writer
	term bool
	now  func() time.Time
	get  func(ctx context.Context, id string) (*api.WorkOrder, error)

	mu     sync.Mutex
	active map[string]progress
	last   map[string]string // plain mode: the note last printed per work order
	drawn  int               // terminal mode: lines of the block on screen
}

func newProgressView(w io.Writer, term bool, get func(context.Context, string) (*api.WorkOrder, error)) *progressView {
	return &progressView{w: w, term: term, now: time.Now, get: get, active: map[string]progress{}, last: map[string]string{}}
}

// isRunning reports whether a work order in state is being worked on.
func isRunning(state string) bool {
	return state == "in_progress" || state == "review" || state == "testing"
}

// event prints the event line (through print) and updates the display
// for the work order it concerns.
func (v *progressView) event(ctx context.Context, e *api.Event, print func() error) error {
	var wo *api.WorkOrder
	if e.Topic == api.TopicWorkOrder && e.WorkOrder != "" && (isRunning(e.To) || e.Type == "workorder.progressed") {
		got, err := v.get(ctx, e.WorkOrder)
		if err == nil {
			wo = got
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.clear()
	if err := print(); err != nil {
		return err
	}
	switch {
	case e.Topic != api.TopicWorkOrder || e.WorkOrder == "":
	case e.To != "" && !isRunning(e.To): // left the running states, terminal ones included
		delete(v.active, e.WorkOrder)
		delete(v.last, e.WorkOrder)
	case wo != nil && isRunning(wo.State):
		p := progressOf(wo, v.now())
		v.active[wo.ID] = p
		if !v.term && p.Note != v.last[wo.ID] {
			v.last[wo.ID] = p.Note
			if _, err := fmt.Fprintln(v.w, "progress "+p.line(v.now())); err != nil {
				return err
			}
		}
	}
	return v.draw()
}

// tick redraws the terminal block (the elapsed time moved on).
func (v *progressView) tick() error {
	if !v.term {
		return nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.clear()
	return v.draw()
}

// run redraws every second until ctx ends; on a terminal only.
func (v *progressView) run(ctx context.Context) {
	if !v.term {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = v.tick()
		}
	}
}

// finish removes the block from the screen.
func (v *progressView) finish() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.clear()
}

// clear erases the block drawn last (cursor up, erase to end of screen).
func (v *progressView) clear() {
	if v.term && v.drawn > 0 {
		fmt.Fprintf(v.w, "\x1b[%dA\x1b[J", v.drawn)
		v.drawn = 0
	}
}

// draw writes the block of running work orders; the caller cleared it.
func (v *progressView) draw() error {
	if !v.term || len(v.active) == 0 {
		return nil
	}
	ids := make([]string, 0, len(v.active))
	for id := range v.active {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	now := v.now()
	var b strings.Builder
	for _, id := range ids {
		b.WriteString("\x1b[2K" + ansiBlue + "▶ " + ansiReset + v.active[id].line(now) + "\n")
	}
	v.drawn = len(ids)
	_, err := io.WriteString(v.w, b.String())
	return err
}
