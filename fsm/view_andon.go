package fsm

import (
	"crypto/sha256"
	"encoding/binary"
)

// Andon returns the andon with the given ID, or ErrNotFound.
func (v *View) Andon(id string) (*Andon, error) {
	if seq, ok := ParseAndonID(id); ok {
		if a := v.s.andons.get(seq); a != nil {
			return a, nil
		}
	}
	return nil, Errorf(ErrNotFound, "andon %s not found", id)
}

// Andons returns the open andons (openOnly) or all of them, in Seq order.
func (v *View) Andons(openOnly bool) []*Andon {
	var out []*Andon
	if openOnly {
		for _, seq := range v.s.andonOpen {
			out = append(out, v.s.andons.get(seq))
		}
		return out
	}
	v.s.andons.ascend(1, func(a *Andon) bool { out = append(out, a); return true })
	return out
}

// StoppedLine is a line (a bucket or a pipeline template) that open andons
// stop.
type StoppedLine struct {
	Scope  AndonScope
	Line   string   // the bucket or pipeline template name
	Andons []string // the open andons stopping it, in ID order
}

// Name returns "<scope>:<line>", as Andon.LineName.
func (l StoppedLine) Name() string { return string(l.Scope) + ":" + l.Line }

// StoppedLines returns the lines that open andons stop, in the order of
// their first andon.
func (v *View) StoppedLines() []StoppedLine {
	var out []StoppedLine
next:
	for _, seq := range v.s.andonOpen {
		a := v.s.andons.get(seq)
		for i := range out {
			if out[i].Scope == a.Scope && out[i].Line == a.Line {
				out[i].Andons = append(out[i].Andons, a.ID)
				continue next
			}
		}
		out = append(out, StoppedLine{Scope: a.Scope, Line: a.Line, Andons: []string{a.ID}})
	}
	return out
}

// StoppedBy returns the open andon that refuses to start wo (the
// lowest-numbered one stopping its bucket or pipeline), or nil when wo's
// line runs or wo is fix work, which a stopped line still starts. The
// control loop skips such work orders when it picks candidates.
func (v *View) StoppedBy(wo *WorkOrder) *Andon {
	if len(v.s.andonOpen) == 0 {
		return nil
	}
	a := stoppedBy(v.s, wo)
	if a == nil || isFixWork(wo, v.s.getWO) {
		return nil
	}
	return a
}

// AndonDomain prefixes the layout AndonDigest hashes.
const AndonDomain = "hive-andon-v1"

// AndonDigest is the evidence digest of the andon receipts
// (andon_triggered, andon_updated, andon_resolved): SHA-256 over the
// record as the receipt's command left it, in this layout (strings as a
// u32 big-endian length and the bytes):
//
//	"hive-andon-v1"     13 bytes, no length prefix
//	id                  string  "AN-<n>"
//	work_order          string
//	scope               string
//	line                string
//	class               string
//	reason              string
//	whys                u32 count, then each why as a string
//	root_cause          string
//	resolution          string
//	fix_work_order      string
//	state               string  open or resolved
func AndonDigest(a *Andon) [32]byte {
	b := make([]byte, 0, 256)
	b = append(b, AndonDomain...)
	for _, s := range []string{a.ID, a.WorkOrder, string(a.Scope), a.Line, a.Class, a.Reason} {
		b = appendString32(b, s)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(a.Whys)))
	for _, w := range a.Whys {
		b = appendString32(b, w)
	}
	for _, s := range []string{a.RootCause, a.Resolution, a.FixWorkOrder, string(a.State)} {
		b = appendString32(b, s)
	}
	return sha256.Sum256(b)
}
