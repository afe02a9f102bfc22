package plugins

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"
)

// The evidence of a run is pinned by two SHA-256 digests over fixed binary
// layouts (never an encoder's incidental output), so that a receipt can
// name them and anyone can recompute them. All integers are big-endian.
//
// LogDigest, over the log lines of one Execute call in stream order:
//
//	"hive.logs.v1\n"
//	for each line: stream uint8 | len(line) uint32 | line
//
// EvidenceDigest, over a result:
//
//	"hive.evidence.v1\n"
//	exit status int64
//	number of outputs uint32
//	for each output, by key in byte order:
//	    len(key) uint32 | key | len(value) uint32 | value
//	number of artifacts uint32
//	for each artifact, by name in byte order:
//	    len(name) uint32 | name | size uint64 | SHA-256 of the content [32]byte
//	log digest [32]byte
//
// Paths, media types and the message are not covered: they describe where
// and how, not what. The golden vectors in evidence_test.go pin both
// layouts.

const (
	logDigestPrefix      = "hive.logs.v1\n"
	evidenceDigestPrefix = "hive.evidence.v1\n"
)

// LogDigester accumulates the LogDigest of a stream of log lines. The zero
// value is not usable; call NewLogDigester.
type LogDigester struct {
	h hash.Hash
}

// NewLogDigester returns a digester of no lines yet.
func NewLogDigester() *LogDigester {
	h := sha256.New()
	h.Write([]byte(logDigestPrefix))
	return &LogDigester{h: h}
}

// Add appends one line.
func (l *LogDigester) Add(line LogLine) {
	var hdr [5]byte
	hdr[0] = byte(line.Stream)
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(line.Line)))
	l.h.Write(hdr[:])
	l.h.Write([]byte(line.Line))
}

// Sum returns the digest of the lines added so far.
func (l *LogDigester) Sum() Digest {
	var d Digest
	l.h.Sum(d[:0])
	return d
}

// LogDigest returns the digest of lines.
func LogDigest(lines ...LogLine) Digest {
	l := NewLogDigester()
	for _, line := range lines {
		l.Add(line)
	}
	return l.Sum()
}

// EvidenceDigest returns the evidence digest of r, computed from its
// ExitStatus, Outputs, Artifacts and LogDigest.
func EvidenceDigest(r *Result) Digest {
	h := sha256.New()
	h.Write([]byte(evidenceDigestPrefix))
	var buf [8]byte
	u32 := func(n int) {
		binary.BigEndian.PutUint32(buf[:4], uint32(n))
		h.Write(buf[:4])
	}
	str := func(s string) {
		u32(len(s))
		h.Write([]byte(s))
	}
	binary.BigEndian.PutUint64(buf[:], uint64(int64(r.ExitStatus)))
	h.Write(buf[:])

	keys := make([]string, 0, len(r.Outputs))
	for k := range r.Outputs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	u32(len(keys))
	for _, k := range keys {
		str(k)
		str(r.Outputs[k])
	}

	arts := slices.Clone(r.Artifacts)
	slices.SortFunc(arts, func(a, b Artifact) int { return strings.Compare(a.Name, b.Name) })
	u32(len(arts))
	for _, a := range arts {
		str(a.Name)
		binary.BigEndian.PutUint64(buf[:], uint64(a.Size))
		h.Write(buf[:])
		h.Write(a.SHA256[:])
	}
	h.Write(r.LogDigest[:])

	var d Digest
	h.Sum(d[:0])
	return d
}

// Validate reports what makes r malformed: an artifact without a name, a
// duplicate name, a negative size or a missing digest.
func (r *Result) Validate() error {
	seen := make(map[string]bool, len(r.Artifacts))
	for _, a := range r.Artifacts {
		switch {
		case a.Name == "":
			return errors.New("an artifact has no name")
		case seen[a.Name]:
			return fmt.Errorf("artifact %q appears twice", a.Name)
		case a.Size < 0:
			return fmt.Errorf("artifact %q has negative size %d", a.Name, a.Size)
		case a.SHA256.IsZero():
			return fmt.Errorf("artifact %q has no SHA-256 digest", a.Name)
		}
		seen[a.Name] = true
	}
	return nil
}

// Seal sets r's LogDigest to logs and its EvidenceDigest to match. The SDK
// seals every result before sending it.
func (r *Result) Seal(logs Digest) {
	r.LogDigest = logs
	r.EvidenceDigest = EvidenceDigest(r)
}

// Verify checks that r is well formed, that its LogDigest is logs (the
// digest of the lines the host received) and that its EvidenceDigest
// matches its content. Errors wrap ErrProtocol.
func (r *Result) Verify(logs Digest) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	if r.LogDigest != logs {
		return fmt.Errorf("%w: the result's log digest %s does not match the %s of the lines received", ErrProtocol, r.LogDigest, logs)
	}
	if want := EvidenceDigest(r); r.EvidenceDigest != want {
		return fmt.Errorf("%w: the result's evidence digest %s does not match its content (%s)", ErrProtocol, r.EvidenceDigest, want)
	}
	return nil
}
