package node

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
)

// The body of a forwarded batch (POST /v1/internal/forward) and of its
// answer is a small binary framing, cheaper than JSON for request bodies
// that are themselves JSON:
//
//	batch    = version:byte count:uvarint request*count
//	request  = method:str uri:str headers body:bytes
//	answer   = version:byte count:uvarint response*count
//	response = index:uvarint status:uvarint headers body:bytes
//	headers  = n:uvarint (name:str value:str)*n
//	str, bytes = len:uvarint byte*len
//
// The answer streams: the leader writes each response as soon as its
// write has been applied, in any order; index is the request's position
// in the batch, so that a write committed early is not held back by a
// slower one of the same batch.
const (
	fwdWireVersion  = 1
	fwdContentType  = "application/x-hive-forward-batch"
	fwdMaxHeaders   = 64 // per request or response
	fwdMaxItemCount = 1024
)

// fwdRequest is one write a follower forwards in a batch.
type fwdRequest struct {
	method string
	uri    string // path and query
	header http.Header
	body   []byte
}

// fwdResponse is the leader's answer to one fwdRequest.
type fwdResponse struct {
	status int
	header http.Header
	body   []byte
}

var errFwdWire = errors.New("malformed forwarded batch")

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendHeader(b []byte, h http.Header) []byte {
	n := 0
	for _, vs := range h {
		n += len(vs)
	}
	b = binary.AppendUvarint(b, uint64(n))
	for k, vs := range h {
		for _, v := range vs {
			b = appendStr(appendStr(b, k), v)
		}
	}
	return b
}

// encodeFwdRequests encodes a batch of requests.
func encodeFwdRequests(reqs []*fwdRequest) []byte {
	size := 8
	for _, r := range reqs {
		size += len(r.method) + len(r.uri) + len(r.body) + 64
	}
	b := make([]byte, 0, size)
	b = append(b, fwdWireVersion)
	b = binary.AppendUvarint(b, uint64(len(reqs)))
	for _, r := range reqs {
		b = appendStr(b, r.method)
		b = appendStr(b, r.uri)
		b = appendHeader(b, r.header)
		b = appendBytes(b, r.body)
	}
	return b
}

// appendFwdAnswerStart begins an answer to count requests.
func appendFwdAnswerStart(b []byte, count int) []byte {
	b = append(b, fwdWireVersion)
	return binary.AppendUvarint(b, uint64(count))
}

// appendFwdResponse appends the answer to request i.
func appendFwdResponse(b []byte, i int, r *fwdResponse) []byte {
	b = binary.AppendUvarint(b, uint64(i))
	b = binary.AppendUvarint(b, uint64(r.status))
	b = appendHeader(b, r.header)
	return appendBytes(b, r.body)
}

// fwdReader decodes the framing; the first error sticks.
type fwdReader struct {
	b   []byte
	err error
}

func (r *fwdReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errFwdWire
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *fwdReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errFwdWire
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *fwdReader) str() string { return string(r.bytes()) }

func (r *fwdReader) header() http.Header {
	n := r.uvarint()
	if n > fwdMaxHeaders {
		r.err = fmt.Errorf("%w: %d headers", errFwdWire, n)
	}
	if r.err != nil {
		return nil
	}
	// One string holds every name and value, and one slice every value:
	// a forwarded write costs three allocations here, not three per
	// header. The first pass checks the framing and notes where each
	// string lies in seg.
	start := r.b
	var offs [2 * fwdMaxHeaders][2]int
	for i := range 2 * n {
		p := r.bytes()
		at := len(start) - len(r.b) - len(p)
		offs[i] = [2]int{at, at + len(p)}
	}
	if r.err != nil {
		return nil
	}
	return headerFromSeg(string(start[:len(start)-len(r.b)]), offs[:2*n])
}

// headerFromSeg builds the header whose names and values are the
// substrings of seg at offs: [start, end) of name 0, value 0, name 1, ...
// It allocates the map and one slice that holds every value.
func headerFromSeg(seg string, offs [][2]int) http.Header {
	n := len(offs) / 2
	h := make(http.Header, n)
	vals := make([]string, n)
	for i := range n {
		k := http.CanonicalHeaderKey(seg[offs[2*i][0]:offs[2*i][1]])
		vals[i] = seg[offs[2*i+1][0]:offs[2*i+1][1]]
		if vs, ok := h[k]; ok {
			h[k] = append(vs, vals[i])
		} else {
			h[k] = vals[i : i+1 : i+1]
		}
	}
	return h
}

// start checks the version and reads the count.
func (r *fwdReader) start() int {
	if len(r.b) == 0 || r.b[0] != fwdWireVersion {
		r.err = fmt.Errorf("%w: unknown version", errFwdWire)
		return 0
	}
	r.b = r.b[1:]
	n := r.uvarint()
	if n > fwdMaxItemCount {
		r.err = fmt.Errorf("%w: %d items", errFwdWire, n)
	}
	return int(n)
}

func (r *fwdReader) finish() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%w: %d trailing bytes", errFwdWire, len(r.b))
	}
	return r.err
}

// decodeFwdRequests decodes a batch of requests. The bodies alias b.
func decodeFwdRequests(b []byte) ([]*fwdRequest, error) {
	r := &fwdReader{b: b}
	n := r.start()
	var out []*fwdRequest
	for i := 0; i < n && r.err == nil; i++ {
		q := &fwdRequest{method: r.str(), uri: r.str()}
		q.header = r.header()
		q.body = r.bytes()
		out = append(out, q)
	}
	if err := r.finish(); err != nil {
		return nil, err
	}
	return out, nil
}

// fwdAnswerReader reads a streamed answer.
type fwdAnswerReader struct {
	br      *bufio.Reader
	max     int    // bound on any one string or body
	scratch []byte // the headers of the answer being read
}

func (r *fwdAnswerReader) uvarint() (uint64, error) {
	v, err := binary.ReadUvarint(r.br)
	if err != nil {
		return 0, fwdStreamErr(err)
	}
	return v, nil
}

// bytes reads a length-prefixed field into a slice of its own (empty,
// not nil, for an empty field).
func (r *fwdAnswerReader) bytes() ([]byte, error) { return r.appendBytes([]byte{}) }

// appendBytes reads a length-prefixed field and appends it to b.
func (r *fwdAnswerReader) appendBytes(b []byte) ([]byte, error) {
	n, err := r.uvarint()
	if err != nil {
		return b, err
	}
	if n > uint64(r.max) {
		return b, fmt.Errorf("%w: %d-byte field", errFwdWire, n)
	}
	b = slices.Grow(b, int(n))
	start := len(b)
	b = b[:start+int(n)]
	if _, err := io.ReadFull(r.br, b[start:]); err != nil {
		return b[:start], fwdStreamErr(err)
	}
	return b, nil
}

// fwdStreamErr reports an answer cut short as such.
func fwdStreamErr(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %w", errFwdWire, io.ErrUnexpectedEOF)
	}
	return err
}

// start reads the version and the count of responses to come.
func (r *fwdAnswerReader) start() (int, error) {
	v, err := r.br.ReadByte()
	if err != nil {
		return 0, fwdStreamErr(err)
	}
	if v != fwdWireVersion {
		return 0, fmt.Errorf("%w: unknown version %d", errFwdWire, v)
	}
	n, err := r.uvarint()
	if err != nil {
		return 0, err
	}
	if n > fwdMaxItemCount {
		return 0, fmt.Errorf("%w: %d items", errFwdWire, n)
	}
	return int(n), nil
}

// next reads one response and the index of its request.
func (r *fwdAnswerReader) next() (int, *fwdResponse, error) {
	i, err := r.uvarint()
	if err != nil {
		return 0, nil, err
	}
	status, err := r.uvarint()
	if err != nil {
		return 0, nil, err
	}
	if status < 100 || status > 999 || i > fwdMaxItemCount {
		return 0, nil, fmt.Errorf("%w: status %d for item %d", errFwdWire, status, i)
	}
	n, err := r.uvarint()
	if err != nil {
		return 0, nil, err
	}
	if n > fwdMaxHeaders {
		return 0, nil, fmt.Errorf("%w: %d headers", errFwdWire, n)
	}
	// Names and values are read into scratch and become substrings of
	// one string, as in fwdReader.header.
	var offs [2 * fwdMaxHeaders][2]int
	r.scratch = r.scratch[:0]
	for j := range 2 * n {
		if r.scratch, err = r.appendBytes(r.scratch); err != nil {
			return 0, nil, err
		}
		offs[j][1] = len(r.scratch)
		if j+1 < 2*n {
			offs[j+1][0] = len(r.scratch)
		}
	}
	h := headerFromSeg(string(r.scratch), offs[:2*n])
	body, err := r.bytes()
	if err != nil {
		return 0, nil, err
	}
	return int(i), &fwdResponse{status: int(status), header: h, body: body}, nil
}
