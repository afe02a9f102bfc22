package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
)

// fakeTerminal is an output that says it is a terminal.
type fakeTerminal struct{ syncBuffer }

func (*fakeTerminal) IsTerminal() bool { return true }

func TestWatchProgressParsesNotes(t *testing.T) {
	start := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	now := start.Add(4 * time.Second)
	p := progressOf(&api.WorkOrder{ID: "WO-1", State: "in_progress", Progress: "sleep 40%: slept 400ms", StartedAt: &start}, now)
	if p.Stage != "sleep" || p.Percent != 40 || !p.Guessed || !p.ETA.Equal(now.Add(6*time.Second)) {
		t.Fatalf("progress %+v", p)
	}
	if got, want := p.line(now), "WO-1 in_progress stage=sleep [########............] 40% elapsed 4s eta ~6s | sleep 40%: slept 400ms"; got != want {
		t.Fatalf("line\n got %q\nwant %q", got, want)
	}
	finish := now.Add(time.Minute)
	p = progressOf(&api.WorkOrder{ID: "WO-2", State: "review", Stage: "build", Progress: "3/5 files", StartedAt: &start, PredictedFinish: &finish}, now)
	if got, want := p.line(now), "WO-2 review stage=build step 3/5 elapsed 4s eta 1m0s | 3/5 files"; got != want {
		t.Fatalf("line\n got %q\nwant %q", got, want)
	}
}

func TestWatchProgressTerminalRedraws(t *testing.T) {
	var out fakeTerminal
	wo := &api.WorkOrder{ID: "WO-1", State: "in_progress", Progress: "sleep 10%: a"}
	v := newProgressView(&out, true, func(context.Context, string) (*api.WorkOrder, error) { c := *wo; return &c, nil })
	ev := func(typ, to string) {
		t.Helper()
		e := &api.Event{Topic: api.TopicWorkOrder, Type: typ, WorkOrder: "WO-1", To: to}
		if err := v.event(context.Background(), e, func() error { _, err := out.Write([]byte(typ + "\n")); return err }); err != nil {
			t.Fatal(err)
		}
	}
	ev("workorder.started", "in_progress")
	wo.Progress = "sleep 60%: b"
	ev("workorder.progressed", "")
	ev("workorder.completed", "completed")
	got := out.String()
	want := "workorder.started\n\x1b[2K" + ansiBlue + "▶ " + ansiReset + "WO-1 in_progress stage=sleep [##..................] 10% | sleep 10%: a\n" +
		"\x1b[1A\x1b[J" + "workorder.progressed\n\x1b[2K" + ansiBlue + "▶ " + ansiReset + "WO-1 in_progress stage=sleep [############........] 60% | sleep 60%: b\n" +
		"\x1b[1A\x1b[J" + "workorder.completed\n"
	if got != want {
		t.Fatalf("terminal output\n got %q\nwant %q", got, want)
	}
}

func TestWatchShowsProgress(t *testing.T) {
	addr := nodeAddr(t)
	for _, term := range []bool{false, true} {
		w := createWO(t, addr, "--title", "watched progress")
		var out interface {
			Write([]byte) (int, error)
			String() string
		} = &syncBuffer{}
		if term {
			out = &fakeTerminal{}
		}
		done := make(chan error, 1)
		go func() {
			var errOut syncBuffer
			done <- newApp(strings.NewReader(""), out, &errOut).Run([]string{"hive", "--address", addr, "wo", "watch", w.ID})
		}()
		waitFor(t, 30*time.Second, "the watch to subscribe", func() error { return subscribed(addr) })
		ok(t, addr, "wo", "start", w.ID, "--agent", "shell")
		ok(t, addr, "wo", "progress", w.ID, "--progress", "sleep 40%: slept 2s")
		waitFor(t, 30*time.Second, "the progress to show", func() error {
			if !strings.Contains(out.String(), "stage=sleep [########............] 40%") {
				return fmt.Errorf("not yet: %q", out.String())
			}
			return nil
		})
		ok(t, addr, "wo", "complete", w.ID)
		if err := <-done; err != nil {
			t.Fatalf("watch: %v", err)
		}
		got := out.String()
		if !strings.Contains(got, "workorder.completed "+w.ID) && !strings.Contains(got, "workorder.completed"+ansiReset+" "+w.ID) {
			t.Fatalf("output %q", got)
		}
		if hasEsc := strings.Contains(got, "\x1b["); hasEsc != term {
			t.Fatalf("terminal=%v but escapes=%v in %q", term, hasEsc, got)
		}
		if !term && !strings.Contains(got, "progress "+w.ID+" in_progress stage=sleep [########............] 40% elapsed ") {
			t.Fatalf("plain output %q", got)
		}
		if term && !strings.HasSuffix(got, "\x1b[J") && !strings.Contains(got, "\x1b[1A\x1b[J") {
			t.Fatalf("terminal block never erased: %q", got)
		}
	}
}
