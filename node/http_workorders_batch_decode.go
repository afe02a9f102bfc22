package node

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/hive-swarm/hive/api"
)

// Bounds of POST /v1/workorders/batch.
const (
	// maxBatchCreates is the most items one batch create takes.
	maxBatchCreates = api.MaxBatchWorkOrders
	// maxBatchBodyBytes bounds a batch create's body: 1000 creates of up
	// to about 8 KiB each. Other routes keep maxBodyBytes.
	maxBatchBodyBytes = 8 << 20
)

// decodeBatchCreate decodes the body of POST /v1/workorders/batch,
// {"workorders":[create, ...]}, into its creates, each decoded exactly as
// decodeCreate decodes the body of a single create. An error names the
// item: "workorders[3]: title: expected string...". The list must hold 1
// to maxBatchCreates items.
//
// Three ways, all giving the same creates and errors for any body
// (FuzzDecodeBatchCreate): a body of the plain shape
// {"workorders":[{...},...]} whose items are all in scanCreate's subset
// (strings, integers, lists of strings) is read by a small scanner
// (scanBatch), at about 0.7 µs per item; another valid body by one
// encoding/json pass over the whole body (about 2.4 µs per item; a pass
// per item, as decodeCreate makes for an item with a payload, costs 6 µs);
// a body either refuses goes through decodeBatchSlow, which decides and
// words the error, naming the item.
func decodeBatchCreate(body []byte) ([]api.CreateWorkOrderRequest, *apiError) {
	if reqs, ok := scanBatch(body); ok {
		return reqs, nil
	}
	if reqs, ok := decodeBatchWhole(body); ok {
		return reqs, nil
	}
	return decodeBatchSlow(body)
}

// decodeBatchWhole decodes a batch in one strict encoding/json pass; it
// reports false when decodeBatchSlow must word an error.
func decodeBatchWhole(body []byte) ([]api.CreateWorkOrderRequest, bool) {
	var outer struct {
		WorkOrders []*api.CreateWorkOrderRequest `json:"workorders"`
	}
	if decodeJSON(body, &outer, false) != nil || checkBatchLen(len(outer.WorkOrders)) != nil {
		return nil, false
	}
	reqs := make([]api.CreateWorkOrderRequest, len(outer.WorkOrders))
	for i, r := range outer.WorkOrders {
		if r == nil {
			return nil, false
		}
		reqs[i] = *r
	}
	return reqs, true
}

// decodeBatchSlow is decodeBatchCreate through encoding/json.
func decodeBatchSlow(body []byte) ([]api.CreateWorkOrderRequest, *apiError) {
	var outer struct {
		WorkOrders []json.RawMessage `json:"workorders"`
	}
	if aerr := decodeJSON(body, &outer, false); aerr != nil {
		return nil, aerr
	}
	if err := checkBatchLen(len(outer.WorkOrders)); err != nil {
		return nil, err
	}
	reqs := make([]api.CreateWorkOrderRequest, len(outer.WorkOrders))
	for i, raw := range outer.WorkOrders {
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			return nil, invalidArg("workorders[%d]: null; want a create request object", i)
		}
		if aerr := decodeCreate(raw, &reqs[i]); aerr != nil {
			return nil, itemError(i, aerr)
		}
	}
	return reqs, nil
}

// checkBatchLen refuses empty and oversized batches.
func checkBatchLen(n int) *apiError {
	if n == 0 || n > maxBatchCreates {
		return invalidArg("workorders: %d items; want 1..%d", n, maxBatchCreates)
	}
	return nil
}

// itemError prefixes an item's error with its place in the batch.
func itemError(i int, e *apiError) *apiError {
	c := *e
	c.message = "workorders[" + strconv.Itoa(i) + "]: " + e.message
	return &c
}

// scanBatch splits body into its items when it is exactly
// {"workorders":[{...},...]} (white space allowed), and reads each with
// scanCreate. It reports false for anything else, including any item
// outside scanCreate's subset.
func scanBatch(body []byte) ([]api.CreateWorkOrderRequest, bool) {
	s := &createScanner{b: body}
	s.next('{')
	if s.bad || s.str() != "workorders" {
		return nil, false
	}
	s.next(':')
	s.next('[')
	if s.bad || s.peek() == ']' {
		return nil, false // an empty batch: the slow path words it
	}
	reqs := make([]api.CreateWorkOrderRequest, 0, min(maxBatchCreates, len(body)/32+1))
	for {
		if s.peek() != '{' || len(reqs) == maxBatchCreates {
			return nil, false
		}
		start := s.i
		end := skipObject(body, start)
		if end < 0 {
			return nil, false
		}
		reqs = append(reqs, api.CreateWorkOrderRequest{})
		if !scanCreate(body[start:end], &reqs[len(reqs)-1]) {
			return nil, false
		}
		s.i = end
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			s.next('}')
			s.ws()
			return reqs, !s.bad && s.i == len(body)
		default:
			return nil, false
		}
	}
}

// skipObject returns the index just past the JSON object that starts at
// b[i] == '{', matching brackets outside strings, or -1 when it does not
// end. It does not validate what it skips: scanCreate does.
func skipObject(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if i >= len(b) {
				return -1
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}
