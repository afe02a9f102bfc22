package api

import (
	"context"
	"fmt"
	"net/http"
)

// BatchOptions tune WorkOrders().CreateBatch. A nil *BatchOptions means
// the defaults.
type BatchOptions struct {
	// IdempotencyKey is sent as the Idempotency-Key header: the server
	// derives the request ID of every item without a request_id from it
	// and the item's index, so resending the same batch with the same key
	// answers with the first outcome and creates nothing twice. Default: a
	// random key, reused by the client's own retries of this call. At most
	// 123 bytes.
	IdempotencyKey string
}

// CreateBatch creates up to MaxBatchWorkOrders work orders with one
// request, committed by the cluster as one raft entry. The answer has one
// item per request, in order: the created work order, or (BatchItem.Err)
// why the state machine refused that item when the batch was applied.
// An invalid item makes the whole call fail with an invalid_argument (or
// bad_json, unknown_field) *Error naming the item's index, and nothing is
// created. The call is retried, like Create, with one idempotency key.
func (w *WorkOrders) CreateBatch(ctx context.Context, reqs []*CreateWorkOrderRequest, opts *BatchOptions) ([]*BatchItem, error) {
	if len(reqs) == 0 || len(reqs) > MaxBatchWorkOrders {
		return nil, fmt.Errorf("api: CreateBatch takes 1 to %d requests, got %d", MaxBatchWorkOrders, len(reqs))
	}
	for i, r := range reqs {
		if r == nil {
			return nil, fmt.Errorf("api: CreateBatch: request %d is nil", i)
		}
	}
	r := &request{method: http.MethodPost, path: "/v1/workorders/batch",
		body: &CreateWorkOrderBatchRequest{WorkOrders: reqs}, write: true, retry: true}
	if opts != nil {
		r.key = opts.IdempotencyKey
	}
	var out CreateWorkOrderBatchResponse
	if err := w.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	if len(out.WorkOrders) != len(reqs) {
		return nil, fmt.Errorf("api: CreateBatch: %d answers to %d requests", len(out.WorkOrders), len(reqs))
	}
	for i, it := range out.WorkOrders {
		if it == nil || (it.WorkOrder == nil) == (it.Error == nil) {
			return nil, fmt.Errorf("api: CreateBatch: answer %d is neither a work order nor an error", i)
		}
	}
	return out.WorkOrders, nil
}
