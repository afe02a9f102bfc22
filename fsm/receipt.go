package fsm

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// ReceiptDomain and EvidenceDomain prefix the hashed layouts, so a receipt
// hash can never be confused with any other SHA-256 in the system.
const (
	ReceiptDomain  = "hive-receipt-v1"
	EvidenceDomain = "hive-evidence-v1"
)

// Canonical returns the fixed binary layout that Hash covers. All integers
// are big-endian; a "string" is a u32 big-endian byte length followed by
// the UTF-8 bytes; nothing is padded or aligned:
//
//	"hive-receipt-v1"   15 bytes, no length prefix
//	seq                 u64
//	index               u64  raft index
//	time                i64  Unix nanoseconds (two's complement)
//	prev_hash           32 bytes
//	workorder           string
//	event               string
//	from                string  state before ("" for created)
//	to                  string  state after
//	attempt             u64
//	node                string
//	agent               string
//	evidence_digest     32 bytes (EvidenceDigest; zero when none)
//
// The layout is pinned by golden vectors in receipt_test.go and
// re-implemented by scripts/verify_receipts.py; changing it is a new
// domain tag, never an edit.
func (r *Receipt) Canonical() []byte {
	return r.appendCanonical(make([]byte, 0, 160+len(r.WorkOrder)+len(r.Event)+len(r.Node)+len(r.Agent)))
}

func (r *Receipt) appendCanonical(b []byte) []byte {
	b = append(b, ReceiptDomain...)
	b = binary.BigEndian.AppendUint64(b, r.Seq)
	b = binary.BigEndian.AppendUint64(b, r.Index)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time))
	b = append(b, r.PrevHash[:]...)
	b = appendString32(b, r.WorkOrder)
	b = appendString32(b, r.Event)
	b = appendString32(b, string(r.From))
	b = appendString32(b, string(r.To))
	b = binary.BigEndian.AppendUint64(b, r.Attempt)
	b = appendString32(b, r.Node)
	b = appendString32(b, r.Agent)
	return append(b, r.EvidenceDigest[:]...)
}

// ComputeHash returns SHA-256 of Canonical().
func (r *Receipt) ComputeHash() [32]byte {
	var buf [256]byte
	return sha256.Sum256(r.appendCanonical(buf[:0]))
}

func appendString32(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// EvidenceDigest returns SHA-256 over this layout (integers big-endian,
// strings as u32 length + bytes), or 32 zero bytes for nil evidence:
//
//	"hive-evidence-v1"  16 bytes, no length prefix
//	exit_code           i64
//	outputs             u32 count, then per output in sorted key order: key string, value string
//	artifact            string
//	log                 string
func EvidenceDigest(e *Evidence) [32]byte {
	if e == nil {
		return [32]byte{}
	}
	var buf [512]byte // enough for most evidence, so hashing it allocates nothing
	b := append(buf[:0], EvidenceDomain...)
	b = binary.BigEndian.AppendUint64(b, uint64(int64(e.ExitCode)))
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Outputs)))
	for _, k := range sortedKeys(e.Outputs) {
		b = appendString32(b, k)
		b = appendString32(b, e.Outputs[k])
	}
	b = appendString32(b, e.Artifact)
	b = appendString32(b, e.Log)
	return sha256.Sum256(b)
}

// ErrChainBroken matches (errors.Is) every *ChainError.
var ErrChainBroken = errors.New("fsm: receipt chain broken")

// ChainError reports the first receipt at which a chain fails to verify.
type ChainError struct {
	Seq     uint64 // sequence number of the first broken receipt
	Problem string
}

// Error implements error.
func (e *ChainError) Error() string {
	return fmt.Sprintf("receipt chain broken at seq %d: %s", e.Seq, e.Problem)
}

// Is makes errors.Is(err, ErrChainBroken) true.
func (e *ChainError) Is(target error) bool { return target == ErrChainBroken }

// chainVerifier checks receipts one at a time.
type chainVerifier struct {
	prev    [32]byte
	nextSeq uint64 // 0 until the first receipt fixes it
	checked uint64
}

func (v *chainVerifier) check(r *Receipt) *ChainError {
	if v.nextSeq != 0 && r.Seq != v.nextSeq {
		return &ChainError{Seq: v.nextSeq, Problem: fmt.Sprintf("expected seq %d, found %d (missing or reordered)", v.nextSeq, r.Seq)}
	}
	if r.PrevHash != v.prev {
		return &ChainError{Seq: r.Seq, Problem: fmt.Sprintf("prev_hash %s does not match the previous hash %s",
			hex.EncodeToString(r.PrevHash[:]), hex.EncodeToString(v.prev[:]))}
	}
	if h := r.ComputeHash(); h != r.Hash {
		return &ChainError{Seq: r.Seq, Problem: fmt.Sprintf("hash %s does not match the content (computed %s)",
			hex.EncodeToString(r.Hash[:]), hex.EncodeToString(h[:]))}
	}
	v.prev = r.Hash
	v.nextSeq = r.Seq + 1
	v.checked++
	return nil
}

// VerifyChain checks that rs is a contiguous chain starting after prev:
// each receipt's PrevHash is the previous Hash (prev for the first), each
// Hash matches its content, and sequence numbers are consecutive. It
// returns how many receipts verified and a *ChainError naming the first
// broken seq.
func VerifyChain(rs []*Receipt, prev [32]byte) (checked uint64, err error) {
	v := chainVerifier{prev: prev}
	for _, r := range rs {
		if e := v.check(r); e != nil {
			return v.checked, e
		}
	}
	return v.checked, nil
}
