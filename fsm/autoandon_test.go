package fsm

import (
	"errors"
	"reflect"
	"testing"
)

func TestAutoAndonConfigRoundTrip(t *testing.T) {
	h := newHarness(t)
	cfg := DefaultSchedulerConfig()
	cfg.AutoAndon = []string{AutoAndonSLABreach, AutoAndonTestFailure}
	if r := h.apply(&SetSchedulerConfig{Config: cfg}); r.Err != nil {
		t.Fatal(r.Err)
	}
	got := h.f.View().SchedulerConfig()
	if !reflect.DeepEqual(got.AutoAndon, cfg.AutoAndon) || !got.AutoAndonOn(AutoAndonTestFailure) || got.AutoAndonOn(AutoAndonRepeatedCrash) {
		t.Fatalf("auto andon = %v", got.AutoAndon)
	}
	// The setting survives a snapshot.
	f := restoreFrom(t, h.snapshot())
	if c := f.View().SchedulerConfig(); !reflect.DeepEqual(c.AutoAndon, cfg.AutoAndon) {
		t.Fatalf("restored auto andon = %v", c.AutoAndon)
	}
	// The command round-trips.
	b, err := Encode(&SetSchedulerConfig{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.(*SetSchedulerConfig).Config.AutoAndon; !reflect.DeepEqual(got, cfg.AutoAndon) {
		t.Fatalf("decoded auto andon = %v", got)
	}
}

func TestAutoAndonEncodingCompatible(t *testing.T) {
	// A config without auto andon encodes, and so digests, as before the
	// field existed; adding classes changes the digest.
	cfg := DefaultSchedulerConfig()
	before := SchedulerConfigDigest(&cfg)
	w := &wbuf{}
	encSchedulerConfig(w, &cfg)
	n := len(w.b)
	cfg.AutoAndon = []string{AutoAndonRepeatedCrash}
	w2 := &wbuf{}
	encSchedulerConfig(w2, &cfg)
	if len(w2.b) <= n || string(w2.b[:n]) != string(w.b) {
		t.Fatal("auto andon is not a trailing section")
	}
	if SchedulerConfigDigest(&cfg) == before {
		t.Fatal("digest ignores auto andon")
	}
	// An empty trailing section is not canonical and refused.
	r := &rbuf{b: append(append([]byte(nil), w.b...), 0)}
	decSchedulerConfig(r)
	if r.err == nil {
		t.Fatal("empty auto andon section accepted")
	}
}

func TestAutoAndonValidate(t *testing.T) {
	for _, bad := range [][]string{{"nope"}, {AutoAndonSLABreach, AutoAndonSLABreach}, {""}} {
		cfg := DefaultSchedulerConfig()
		cfg.AutoAndon = bad
		err := cfg.Validate()
		if !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("%q: error %v, want invalid_argument", bad, err)
		}
		h := newHarness(t)
		if r := h.apply(&SetSchedulerConfig{Config: cfg}); r.Err == nil {
			t.Fatalf("%q applied", bad)
		}
		if got := h.f.View().SchedulerConfig(); got.AutoAndon != nil {
			t.Fatalf("%q: state changed to %v", bad, got.AutoAndon)
		}
	}
	cfg := DefaultSchedulerConfig()
	cfg.AutoAndon = AutoAndonClasses()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}
