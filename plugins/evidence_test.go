package plugins

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"testing"
)

// goldenResult is the result the golden vectors pin.
func goldenResult() *Result {
	return &Result{
		ExitStatus: -2,
		Outputs:    map[string]string{"b": "2", "a": "1", "": "empty key"},
		Artifacts: []Artifact{
			{Name: "report.txt", Path: "/w/report.txt", Size: 5, SHA256: sha256.Sum256([]byte("hello"))},
			{Name: "a.bin", Path: "/w/a.bin", Size: 0, SHA256: sha256.Sum256(nil), MediaType: "application/octet-stream"},
		},
		Message: "not covered",
		LogDigest: LogDigest(
			LogLine{Stream: StreamAgent, Line: "start"},
			LogLine{Stream: StreamStdout, Line: ""},
			LogLine{Stream: StreamStderr, Line: "é"},
		),
	}
}

// The golden vectors pin the layouts documented in evidence.go. If one of
// these changes, every receipt ever written stops verifying: bump the
// layout's version prefix instead.
const (
	goldenLogDigest      = "55b73969e85a4518f2ca1a2ec16c87465f836fa60f2a353cba5b23140babc49d"
	goldenEvidenceDigest = "9c3a86833e56727cb85e9e0ad5f7e8100acd7fd8966afde80cb3af0fb9decca7"
	goldenEmptyEvidence  = "840926d4969dc8b64e0b9711a989ceedad8deb60db78bd050c9ca4d2a0e48096"
	goldenEmptyLogs      = "cc054d61e51268240028b80f9e3865bdbf1f174251bf19cc584c74dc345becd3"
)

func TestEvidenceGoldenVectors(t *testing.T) {
	r := goldenResult()
	for _, tc := range []struct {
		name string
		got  Digest
		want string
	}{
		{"log digest", r.LogDigest, goldenLogDigest},
		{"evidence digest", EvidenceDigest(r), goldenEvidenceDigest},
		{"evidence of an empty result", EvidenceDigest(&Result{}), goldenEmptyEvidence},
		{"digest of no log lines", LogDigest(), goldenEmptyLogs},
	} {
		if tc.got.String() != tc.want {
			t.Errorf("%s = %s, want %s", tc.name, tc.got, tc.want)
		}
	}
}

// TestEvidenceLayout builds the documented layout by hand: the code and
// the documentation say the same.
func TestEvidenceLayout(t *testing.T) {
	var logs bytes.Buffer
	logs.WriteString("hive.logs.v1\n")
	for _, l := range []struct {
		s    byte
		line string
	}{{1, "start"}, {2, ""}, {3, "é"}} {
		logs.WriteByte(l.s)
		_ = binary.Write(&logs, binary.BigEndian, uint32(len(l.line)))
		logs.WriteString(l.line)
	}
	r := goldenResult()
	if Digest(sha256.Sum256(logs.Bytes())) != r.LogDigest {
		t.Fatal("the log digest does not follow the documented layout")
	}

	var ev bytes.Buffer
	str := func(s string) {
		_ = binary.Write(&ev, binary.BigEndian, uint32(len(s)))
		ev.WriteString(s)
	}
	ev.WriteString("hive.evidence.v1\n")
	_ = binary.Write(&ev, binary.BigEndian, int64(-2))
	_ = binary.Write(&ev, binary.BigEndian, uint32(3))
	for _, kv := range [][2]string{{"", "empty key"}, {"a", "1"}, {"b", "2"}} {
		str(kv[0])
		str(kv[1])
	}
	_ = binary.Write(&ev, binary.BigEndian, uint32(2))
	str("a.bin")
	_ = binary.Write(&ev, binary.BigEndian, uint64(0))
	e := sha256.Sum256(nil)
	ev.Write(e[:])
	str("report.txt")
	_ = binary.Write(&ev, binary.BigEndian, uint64(5))
	h := sha256.Sum256([]byte("hello"))
	ev.Write(h[:])
	ev.Write(r.LogDigest[:])
	if Digest(sha256.Sum256(ev.Bytes())) != EvidenceDigest(r) {
		t.Fatal("the evidence digest does not follow the documented layout")
	}
}

func TestSealAndVerify(t *testing.T) {
	r := goldenResult()
	logs := r.LogDigest
	r.Seal(logs)
	if err := r.Verify(logs); err != nil {
		t.Fatal(err)
	}
	for name, tamper := range map[string]func(r *Result){
		"exit status": func(r *Result) { r.ExitStatus = 0 },
		"output":      func(r *Result) { r.Outputs["a"] = "x" },
		"artifact":    func(r *Result) { r.Artifacts[0].SHA256[0] ^= 1 },
		"log digest":  func(r *Result) { r.LogDigest[0] ^= 1 },
		"no digest":   func(r *Result) { r.Artifacts[1].SHA256 = Digest{} },
		"duplicate":   func(r *Result) { r.Artifacts[1].Name = r.Artifacts[0].Name },
	} {
		c := goldenResult()
		c.Seal(logs)
		tamper(c)
		if err := c.Verify(logs); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: Verify = %v", name, err)
		}
	}
	// Not covered: where and how.
	c := goldenResult()
	c.Seal(logs)
	c.Message, c.Artifacts[0].Path, c.Artifacts[1].MediaType = "other", "/elsewhere", ""
	if err := c.Verify(logs); err != nil {
		t.Fatal(err)
	}
}

func TestDigestText(t *testing.T) {
	d := LogDigest()
	b, err := json.Marshal(struct{ D Digest }{d})
	if err != nil || string(b) != `{"D":"`+d.String()+`"}` {
		t.Fatalf("%s, %v", b, err)
	}
	var back struct{ D Digest }
	if err := json.Unmarshal(b, &back); err != nil || back.D != d {
		t.Fatalf("%v, %v", back, err)
	}
	if err := back.D.UnmarshalText([]byte("abc")); err == nil {
		t.Fatal("short hex accepted")
	}
}
