package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
)

// Scheduler is the part of the API about the scheduling policy and the
// board of work it shapes.
type Scheduler struct{ c *Client }

// Scheduler returns the scheduler endpoints.
func (c *Client) Scheduler() *Scheduler { return &Scheduler{c: c} }

// Get returns the scheduler configuration in force with its digest and
// the work in flight against its limits.
func (s *Scheduler) Get(ctx context.Context, q *QueryOptions) (*SchedulerStatus, error) {
	var out SchedulerStatus
	r := (&request{method: http.MethodGet, path: "/v1/scheduler", retry: true}).applyQuery(q)
	if err := s.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Set replaces the scheduler configuration (fields left nil take their
// defaults, see SchedulerConfig) and returns the status afterwards. Bad
// input is an invalid_argument *Error and changes nothing; with
// req.CheckDigest a concurrent change is a config_changed *Error.
func (s *Scheduler) Set(ctx context.Context, req *SetSchedulerConfigRequest) (*SchedulerStatus, error) {
	if req == nil {
		return nil, errors.New("api: Set needs a request")
	}
	var out SchedulerStatus
	r := &request{method: http.MethodPut, path: "/v1/scheduler", body: req, write: true, key: req.RequestID, retry: true}
	if err := s.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// maxUpdateAttempts bounds Update's read-modify-write rounds.
const maxUpdateAttempts = 5

// Update changes the configuration in force by read-modify-write: it
// reads the configuration, lets change edit it, and writes it back on
// condition that nobody changed it in between, repeating the round (up to
// 5 times) when somebody did. change may be called more than once and
// must not keep the config. An error from change is returned as is.
func (s *Scheduler) Update(ctx context.Context, change func(*SchedulerConfig) error) (*SchedulerStatus, error) {
	for attempt := 1; ; attempt++ {
		cur, err := s.Get(ctx, nil)
		if err != nil {
			return nil, err
		}
		if cur.Config == nil {
			return nil, errors.New("api: GET /v1/scheduler answered without a config")
		}
		if err := change(cur.Config); err != nil {
			return nil, err
		}
		st, err := s.Set(ctx, &SetSchedulerConfigRequest{SchedulerConfig: *cur.Config, CheckDigest: cur.Digest})
		if ErrorCode(err) == CodeConfigChanged && attempt < maxUpdateAttempts {
			continue
		}
		if err != nil {
			return nil, err
		}
		return st, nil
	}
}

// KanbanOptions tune GET /v1/kanban.
type KanbanOptions struct {
	// Limit is how many work orders each state of a column lists at
	// most (the counts are always complete); 0 = the server's default.
	Limit int
}

// Kanban returns the board of unfinished work: a column per stage with
// its work orders by state and its WIP limit.
func (s *Scheduler) Kanban(ctx context.Context, opts *KanbanOptions, q *QueryOptions) (*KanbanBoard, error) {
	v := url.Values{}
	if opts != nil && opts.Limit > 0 {
		v.Set("limit", strconv.Itoa(opts.Limit))
	}
	var out KanbanBoard
	r := (&request{method: http.MethodGet, path: "/v1/kanban", query: v, retry: true}).applyQuery(q)
	if err := s.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Pipelines is the part of the API about pipeline templates and runs.
type Pipelines struct{ c *Client }

// Pipelines returns the pipeline endpoints.
func (c *Client) Pipelines() *Pipelines { return &Pipelines{c: c} }

// List returns the pipeline templates of the configuration in force.
func (p *Pipelines) List(ctx context.Context, q *QueryOptions) (*PipelineList, error) {
	var out PipelineList
	r := (&request{method: http.MethodGet, path: "/v1/pipelines", retry: true}).applyQuery(q)
	if err := p.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Get returns one template; an unknown name is a not_found *Error.
func (p *Pipelines) Get(ctx context.Context, name string, q *QueryOptions) (*Pipeline, error) {
	var out Pipeline
	r := (&request{method: http.MethodGet, path: "/v1/pipelines/" + escape(name), retry: true}).applyQuery(q)
	if err := p.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Run instantiates the template name: a run work order and one work order
// per stage, created together. The request is retried with one
// idempotency key (req.RequestID when set), so a retry never creates a
// second run. An unknown template is a not_found *Error.
func (p *Pipelines) Run(ctx context.Context, name string, req *RunPipelineRequest) (*PipelineRun, error) {
	if req == nil {
		return nil, errors.New("api: Run needs a request")
	}
	var out PipelineRun
	r := &request{method: http.MethodPost, path: "/v1/pipelines/" + escape(name) + "/runs",
		body: req, write: true, key: req.RequestID, retry: true}
	if err := p.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
