package api

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Receipts is the receipt-chain part of the API.
type Receipts struct{ c *Client }

// Receipts returns the receipt-chain endpoints.
func (c *Client) Receipts() *Receipts { return &Receipts{c: c} }

// ReceiptQuery filters GET /v1/receipts. Zero fields do not filter.
type ReceiptQuery struct {
	WorkOrder string    // receipts of this work order
	Hash      string    // receipts whose hash starts with this hex prefix
	Since     time.Time // at or after
	Until     time.Time // before
	From      uint64    // sequence numbers from this one
	Limit     int       // at most this many; 0 = the server's default
}

func (o *ReceiptQuery) values() url.Values {
	v := url.Values{}
	if o == nil {
		return v
	}
	if o.WorkOrder != "" {
		v.Set("workorder", o.WorkOrder)
	}
	if o.Hash != "" {
		v.Set("hash", o.Hash)
	}
	if !o.Since.IsZero() {
		v.Set("since", o.Since.UTC().Format(time.RFC3339Nano))
	}
	if !o.Until.IsZero() {
		v.Set("until", o.Until.UTC().Format(time.RFC3339Nano))
	}
	if o.From > 0 {
		v.Set("from", strconv.FormatUint(o.From, 10))
	}
	if o.Limit > 0 {
		v.Set("limit", strconv.Itoa(o.Limit))
	}
	return v
}

// rangeValues encodes a from/to sequence range; 0 leaves an end open.
func rangeValues(from, to uint64) url.Values {
	v := url.Values{}
	if from > 0 {
		v.Set("from", strconv.FormatUint(from, 10))
	}
	if to > 0 {
		v.Set("to", strconv.FormatUint(to, 10))
	}
	return v
}

// List returns the receipts matching query, in sequence order.
func (r *Receipts) List(ctx context.Context, query *ReceiptQuery, q *QueryOptions) (*ReceiptList, error) {
	var out ReceiptList
	req := (&request{method: http.MethodGet, path: "/v1/receipts", query: query.values(), retry: true}).applyQuery(q)
	if err := r.c.do(ctx, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Get returns the receipt with sequence number seq.
func (r *Receipts) Get(ctx context.Context, seq uint64, q *QueryOptions) (*Receipt, error) {
	var out Receipt
	req := (&request{method: http.MethodGet, path: "/v1/receipts/" + strconv.FormatUint(seq, 10), retry: true}).applyQuery(q)
	if err := r.c.do(ctx, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Verify checks the chain from sequence from to to (0 = its start and
// head). A broken chain is not an error: the report says OK=false and
// where it broke.
func (r *Receipts) Verify(ctx context.Context, from, to uint64, q *QueryOptions) (*VerifyReport, error) {
	var out VerifyReport
	req := (&request{method: http.MethodGet, path: "/v1/receipts/verify", query: rangeValues(from, to), retry: true}).applyQuery(q)
	if err := r.c.do(ctx, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Export streams the receipts from sequence from to to (0 = its start and
// head) to w as JSON Lines, one Receipt per line, and returns the number
// of bytes written. Only the wait for the answer to begin is retried;
// once bytes have reached w an interrupted stream is an error.
func (r *Receipts) Export(ctx context.Context, from, to uint64, w io.Writer, q *QueryOptions) (int64, error) {
	req := (&request{method: http.MethodGet, path: "/v1/receipts/export", query: rangeValues(from, to), retry: true, stream: true}).applyQuery(q)
	resp, done, err := r.c.send(ctx, req)
	if err != nil {
		return 0, err
	}
	defer done()
	defer resp.Body.Close()
	return io.Copy(w, resp.Body)
}
