package api

// MaxBatchWorkOrders is the most work orders one POST /v1/workorders/batch
// may create.
const MaxBatchWorkOrders = 1000

// CreateWorkOrderBatchRequest is the body of POST /v1/workorders/batch:
// 1 to MaxBatchWorkOrders creates, each exactly the body of
// POST /v1/workorders.
type CreateWorkOrderBatchRequest struct {
	WorkOrders []*CreateWorkOrderRequest `json:"workorders"`
}

// CreateWorkOrderBatchResponse is the answer (201) to a batch create: one
// item per request item, in request order.
type CreateWorkOrderBatchResponse struct {
	WorkOrders []*BatchItem `json:"workorders"`
}

// BatchItem is one slot of a batch answer. Exactly one of its fields is
// set: the created work order (its JSON fields inline, as
// POST /v1/workorders answers), or, for an item the state machine refused
// when the batch was applied (an unknown dependency or parent, a
// dependency cycle...), Error with the code and message a single create
// would have answered: {"error":{"code":"not_found","message":"..."}}.
// Such an item created nothing; the others of its batch were created all
// the same.
type BatchItem struct {
	*WorkOrder
	Error *ErrorDetail `json:"error,omitempty"`
}

// Err returns the item's refusal as an *Error (StatusCode 0: the batch
// itself was answered 201), or nil for a created work order.
func (b *BatchItem) Err() error {
	if b == nil || b.Error == nil {
		return nil
	}
	return &Error{Code: b.Error.Code, Message: b.Error.Message, Cycle: b.Error.Cycle}
}
