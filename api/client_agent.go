package api

import (
	"context"
	"net/http"
	"net/url"
)

// Agent is the part of the API about the addressed node and the cluster
// it belongs to.
type Agent struct{ c *Client }

// Agent returns the node and cluster endpoints.
func (c *Client) Agent() *Agent { return &Agent{c: c} }

// Members returns every node gossip knows, with its raft role.
func (a *Agent) Members(ctx context.Context, q *QueryOptions) (*MemberList, error) {
	var out MemberList
	r := (&request{method: http.MethodGet, path: "/v1/members", retry: true}).applyQuery(q)
	if err := a.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Status returns the addressed node's view of raft: leader, term, indexes.
func (a *Agent) Status(ctx context.Context, q *QueryOptions) (*Status, error) {
	var out Status
	r := (&request{method: http.MethodGet, path: "/v1/status", retry: true}).applyQuery(q)
	if err := a.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Join asks the addressed node to join the members at the given gossip
// addresses (HOST:PORT).
func (a *Agent) Join(ctx context.Context, addrs ...string) error {
	v := url.Values{}
	for _, addr := range addrs {
		v.Add("address", addr)
	}
	r := &request{method: http.MethodPut, path: "/v1/agent/join", query: v, retry: true}
	return a.c.do(ctx, r, nil)
}

// Leave asks the addressed node to leave the cluster gracefully and shut
// down. It is not retried: after a lost answer the node may already be
// gone.
func (a *Agent) Leave(ctx context.Context) error {
	r := &request{method: http.MethodPut, path: "/v1/agent/leave"}
	return a.c.do(ctx, r, nil)
}
