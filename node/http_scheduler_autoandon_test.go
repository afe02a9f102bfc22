package node

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hive-swarm/hive/api"
)

// TestHTTPSchedulerAutoAndon: auto_andon is off by default, set by a PUT,
// kept when a GET is written back, turned off by an empty list;
// and a bad class is refused with invalid_argument, changing nothing.
func TestHTTPSchedulerAutoAndon(t *testing.T) {
	a := newTestAPI(t)
	if c := a.scheduler().Config; c.AutoAndon == nil || len(c.AutoAndon) != 0 {
		t.Fatalf("default auto_andon %#v, want []", c.AutoAndon)
	}
	var st api.SchedulerStatus
	a.do("PUT", "/v1/scheduler", `{"auto_andon":["sla_breach","test_failure"]}`).ok(t, http.StatusOK, &st)
	if !slices.Equal(st.Config.AutoAndon, []string{"sla_breach", "test_failure"}) {
		t.Fatalf("after PUT %#v", st.Config.AutoAndon)
	}
	if got := a.b.view().SchedulerConfig().AutoAndon; !slices.Equal(got, st.Config.AutoAndon) {
		t.Fatalf("replicated %#v", got)
	}
	// A GET written back keeps it.
	got := a.scheduler()
	a.do("PUT", "/v1/scheduler", &api.SetSchedulerConfigRequest{SchedulerConfig: *got.Config}).ok(t, http.StatusOK, &st)
	if st.Digest != got.Digest {
		t.Fatalf("round trip changed the digest %s -> %s", got.Digest, st.Digest)
	}
	before := a.schedState()
	for body, says := range map[string]string{
		`{"auto_andon":["fire"]}`:                        "auto_andon[0]",
		`{"auto_andon":["sla_breach","sla_breach"]}`:     "repeated",
		`{"auto_andon":["test_failure","Test_Failure"]}`: "auto_andon[1]",
	} {
		e := a.do("PUT", "/v1/scheduler", body).apiErr(t, http.StatusBadRequest, "invalid_argument")
		if !strings.Contains(e.Message, says) {
			t.Fatalf("%s: message %q does not mention %q", body, e.Message, says)
		}
		if after := a.schedState(); after != before {
			t.Fatalf("%s: state changed", body)
		}
	}
	// An empty list turns it off.
	a.do("PUT", "/v1/scheduler", `{"auto_andon":[]}`).ok(t, http.StatusOK, &st)
	if len(st.Config.AutoAndon) != 0 {
		t.Fatalf("after off %#v", st.Config.AutoAndon)
	}
}
