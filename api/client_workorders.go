package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
)

// Transition actions of POST /v1/workorders/{id}/{action}.
const (
	ActionStart    = "start"
	ActionAdvance  = "advance"
	ActionProgress = "progress"
	ActionComplete = "complete"
	ActionFail     = "fail"
	ActionCancel   = "cancel"
)

// WorkOrders is the work-order part of the API.
type WorkOrders struct{ c *Client }

// WorkOrders returns the work-order endpoints.
func (c *Client) WorkOrders() *WorkOrders { return &WorkOrders{c: c} }

// ListOptions filter GET /v1/workorders. Empty fields do not filter.
type ListOptions struct {
	State    string
	Bucket   string
	Priority string
	Type     string
	Label    string
	Parent   string
	After    string // page token: WorkOrderList.Next of the previous page
	Limit    int    // page size; 0 = the server's default
}

func (o *ListOptions) values() url.Values {
	v := url.Values{}
	if o == nil {
		return v
	}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("state", o.State)
	set("bucket", o.Bucket)
	set("priority", o.Priority)
	set("type", o.Type)
	set("label", o.Label)
	set("parent", o.Parent)
	set("after", o.After)
	if o.Limit > 0 {
		v.Set("limit", strconv.Itoa(o.Limit))
	}
	return v
}

// QueueOptions select GET /v1/queue.
type QueueOptions struct {
	Bucket string // only this bucket's queue; "" for all
	Limit  int    // 0 = the server's default
}

// Create submits a work order; the answer carries its assigned ID. The
// request is retried with one idempotency key (req.RequestID when set), so
// a retry never creates a second work order.
func (w *WorkOrders) Create(ctx context.Context, req *CreateWorkOrderRequest) (*WorkOrder, error) {
	if req == nil {
		return nil, errors.New("api: Create needs a request")
	}
	var out WorkOrder
	r := &request{method: http.MethodPost, path: "/v1/workorders", body: req, write: true, key: req.RequestID, retry: true}
	if err := w.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// List returns one page of work orders. Pass the answer's Next as
// opts.After for the next page, or use ListAll.
func (w *WorkOrders) List(ctx context.Context, opts *ListOptions, q *QueryOptions) (*WorkOrderList, error) {
	var out WorkOrderList
	r := (&request{method: http.MethodGet, path: "/v1/workorders", query: opts.values(), retry: true}).applyQuery(q)
	if err := w.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListAll pages through every work order matching opts (After is
// ignored). Pages are separate reads, so a concurrent write may be seen
// in some pages and not others.
func (w *WorkOrders) ListAll(ctx context.Context, opts *ListOptions, q *QueryOptions) ([]*WorkOrder, error) {
	o := ListOptions{}
	if opts != nil {
		o = *opts
	}
	o.After = ""
	var all []*WorkOrder
	for {
		page, err := w.List(ctx, &o, q)
		if err != nil {
			return nil, err
		}
		all = append(all, page.WorkOrders...)
		if page.Next == "" || page.Next == o.After {
			return all, nil
		}
		o.After = page.Next
	}
}

// Get returns one work order; a missing one is a not_found *Error.
func (w *WorkOrders) Get(ctx context.Context, id string, q *QueryOptions) (*WorkOrder, error) {
	var out WorkOrder
	r := (&request{method: http.MethodGet, path: "/v1/workorders/" + escape(id), retry: true}).applyQuery(q)
	if err := w.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Transition applies action (one of the Action constants) to work order
// id and returns the work order as it is afterwards. req may be nil.
func (w *WorkOrders) Transition(ctx context.Context, id, action string, req *TransitionRequest) (*WorkOrder, error) {
	if req == nil {
		req = &TransitionRequest{}
	}
	var out WorkOrder
	r := &request{method: http.MethodPost, path: "/v1/workorders/" + escape(id) + "/" + escape(action),
		body: req, write: true, key: req.RequestID, retry: true}
	if err := w.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Start moves a queued work order to in_progress, incrementing its
// attempt; it fails with blocked_by_dependencies, wip_limit,
// already_started or not_found.
func (w *WorkOrders) Start(ctx context.Context, id string, req *TransitionRequest) (*WorkOrder, error) {
	return w.Transition(ctx, id, ActionStart, req)
}

// Advance moves a work order on to its next state.
func (w *WorkOrders) Advance(ctx context.Context, id string, req *TransitionRequest) (*WorkOrder, error) {
	return w.Transition(ctx, id, ActionAdvance, req)
}

// Progress records a stage or progress note without changing the state.
func (w *WorkOrders) Progress(ctx context.Context, id string, req *TransitionRequest) (*WorkOrder, error) {
	return w.Transition(ctx, id, ActionProgress, req)
}

// Complete marks a work order completed with its evidence, unblocking
// dependents whose last dependency it was.
func (w *WorkOrders) Complete(ctx context.Context, id string, req *TransitionRequest) (*WorkOrder, error) {
	return w.Transition(ctx, id, ActionComplete, req)
}

// Fail marks a work order failed with its evidence.
func (w *WorkOrders) Fail(ctx context.Context, id string, req *TransitionRequest) (*WorkOrder, error) {
	return w.Transition(ctx, id, ActionFail, req)
}

// Cancel cancels a work order; with req.Cascade its unfinished dependents
// are cancelled too.
func (w *WorkOrders) Cancel(ctx context.Context, id string, req *TransitionRequest) (*WorkOrder, error) {
	return w.Transition(ctx, id, ActionCancel, req)
}

// AddDependencies makes id depend on deps. An edge that would close a
// cycle is refused with a cycle *Error naming it in Cycle.
func (w *WorkOrders) AddDependencies(ctx context.Context, id string, deps ...string) (*WorkOrder, error) {
	return w.dependencies(ctx, http.MethodPost, id, deps)
}

// RemoveDependencies removes the edges from id to deps.
func (w *WorkOrders) RemoveDependencies(ctx context.Context, id string, deps ...string) (*WorkOrder, error) {
	return w.dependencies(ctx, http.MethodDelete, id, deps)
}

func (w *WorkOrders) dependencies(ctx context.Context, method, id string, deps []string) (*WorkOrder, error) {
	var out WorkOrder
	r := &request{method: method, path: "/v1/workorders/" + escape(id) + "/dependencies",
		body: &DependencyRequest{DependsOn: deps}, write: true, retry: true}
	if err := w.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Queue returns the queued work orders in the order they will run.
func (w *WorkOrders) Queue(ctx context.Context, opts *QueueOptions, q *QueryOptions) (*WorkOrderList, error) {
	v := url.Values{}
	if opts != nil {
		if opts.Bucket != "" {
			v.Set("bucket", opts.Bucket)
		}
		if opts.Limit > 0 {
			v.Set("limit", strconv.Itoa(opts.Limit))
		}
	}
	var out WorkOrderList
	r := (&request{method: http.MethodGet, path: "/v1/queue", query: v, retry: true}).applyQuery(q)
	if err := w.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
