package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// Andons is the Andon-cord part of the API.
type Andons struct{ c *Client }

// Andons returns the andon endpoints.
func (c *Client) Andons() *Andons { return &Andons{c: c} }

// Trigger pulls the Andon cord on req.WorkOrder: it quarantines the work
// order, stops its line and creates a fix work order (the answer's
// FixWorkOrder). The request is retried with one idempotency key, so a
// retry never pulls the cord twice. A work order already quarantined is an
// invalid_transition *Error.
func (a *Andons) Trigger(ctx context.Context, req *TriggerAndonRequest) (*Andon, error) {
	if req == nil {
		return nil, errors.New("api: Trigger needs a request")
	}
	var out Andon
	r := &request{method: http.MethodPost, path: "/v1/andon", body: req, write: true, key: req.RequestID, retry: true}
	if err := a.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// List returns the andons in state (AndonOpen, AndonResolved or AndonAll;
// "" means open) and every stopped line.
func (a *Andons) List(ctx context.Context, state string, q *QueryOptions) (*AndonList, error) {
	var v url.Values
	if state != "" {
		v = url.Values{"state": {state}}
	}
	var out AndonList
	r := (&request{method: http.MethodGet, path: "/v1/andon", query: v, retry: true}).applyQuery(q)
	if err := a.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Get returns one andon; a missing one is a not_found *Error.
func (a *Andons) Get(ctx context.Context, id string, q *QueryOptions) (*Andon, error) {
	var out Andon
	r := (&request{method: http.MethodGet, path: "/v1/andon/" + escape(id), retry: true}).applyQuery(q)
	if err := a.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Update edits an andon's whys and root cause (open or resolved).
func (a *Andons) Update(ctx context.Context, id string, req *UpdateAndonRequest) (*Andon, error) {
	if req == nil {
		return nil, errors.New("api: Update needs a request")
	}
	var out Andon
	r := &request{method: http.MethodPatch, path: "/v1/andon/" + escape(id), body: req, write: true, key: req.RequestID, retry: true}
	if err := a.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Resolve resolves an open andon with its resolution: its line resumes
// (unless another open andon stops it) and its work order leaves
// quarantine. An andon already resolved is an invalid_transition *Error.
func (a *Andons) Resolve(ctx context.Context, id string, req *ResolveAndonRequest) (*Andon, error) {
	if req == nil {
		return nil, errors.New("api: Resolve needs a request")
	}
	var out Andon
	r := &request{method: http.MethodPost, path: "/v1/andon/" + escape(id) + "/resolve", body: req, write: true, key: req.RequestID, retry: true}
	if err := a.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Explain returns why work order id is not running: one Reason per thing
// holding it back (dependencies, quarantine, a stopped line, a retry's
// backoff, a WIP limit, ...), none for a queued work order that is free
// to start.
func (w *WorkOrders) Explain(ctx context.Context, id string, q *QueryOptions) (*Explanation, error) {
	var out Explanation
	r := (&request{method: http.MethodGet, path: "/v1/workorders/" + escape(id) + "/explain", retry: true}).applyQuery(q)
	if err := w.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
