package fsm

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformed is returned (wrapped) when a command or snapshot record is
// truncated, has trailing bytes, or holds an impossible value.
var ErrMalformed = errors.New("fsm: malformed encoding")

// wbuf appends the primitives shared by the command codec and snapshots:
// unsigned integers as uvarints, signed integers as zig-zag varints,
// strings and byte slices as a uvarint length followed by the bytes.
type wbuf struct{ b []byte }

func (w *wbuf) byte1(v byte)     { w.b = append(w.b, v) }
func (w *wbuf) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *wbuf) varint(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *wbuf) fixed32(v [32]byte) {
	w.b = append(w.b, v[:]...)
}

func (w *wbuf) str(s string) {
	w.b = binary.AppendUvarint(w.b, uint64(len(s)))
	w.b = append(w.b, s...)
}

func (w *wbuf) bytes(p []byte) {
	w.b = binary.AppendUvarint(w.b, uint64(len(p)))
	w.b = append(w.b, p...)
}

func (w *wbuf) boolean(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

func (w *wbuf) strs(ss []string) {
	w.uvarint(uint64(len(ss)))
	for _, s := range ss {
		w.str(s)
	}
}

// rbuf reads what wbuf wrote. The first error sticks: later reads return
// zero values, so a decoder checks r.err once at the end. No read allocates
// more than the bytes that remain, so a hostile length cannot exhaust memory.
type rbuf struct {
	b      []byte
	err    error
	intern *names // interns what name() reads, when set
}

func (r *rbuf) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
}

func (r *rbuf) byte1() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 1 {
		r.fail("truncated")
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *rbuf) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *rbuf) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *rbuf) fixed32() (v [32]byte) {
	if r.err != nil {
		return v
	}
	if len(r.b) < 32 {
		r.fail("truncated hash")
		return v
	}
	copy(v[:], r.b)
	r.b = r.b[32:]
	return v
}

// raw returns the next length-prefixed slice without copying.
func (r *rbuf) raw() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail("length %d exceeds remaining %d bytes", n, len(r.b))
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *rbuf) str() string { return string(r.raw()) }

// name reads a string that is likely to repeat (a node, agent, kind or
// label name) and interns it when r has a table.
func (r *rbuf) name() string {
	p := r.raw()
	if r.intern == nil {
		return string(p)
	}
	return r.intern.get(p)
}

// bytes returns a copy of the next length-prefixed slice; nil when empty.
func (r *rbuf) bytes() []byte {
	p := r.raw()
	if len(p) == 0 {
		return nil
	}
	return append([]byte(nil), p...)
}

func (r *rbuf) boolean() bool {
	switch r.byte1() {
	case 0:
		return false
	case 1:
		return true
	default:
		r.fail("bad bool")
		return false
	}
}

// count reads an element count and checks that the remaining input could
// hold that many elements of at least minSize bytes each.
func (r *rbuf) count(minSize int) int {
	n := r.uvarint()
	if r.err != nil {
		return 0
	}
	if n > uint64(len(r.b)/minSize) {
		r.fail("count %d exceeds remaining input", n)
		return 0
	}
	return int(n)
}

func (r *rbuf) strs() []string {
	n := r.count(1)
	if n == 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = r.str()
	}
	return ss
}

// nameList is strs for a list of names (see name).
func (r *rbuf) nameList() []string {
	n := r.count(1)
	if n == 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = r.name()
	}
	return ss
}

// done fails unless every byte was consumed.
func (r *rbuf) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	return r.err
}
