package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// Memory is the swarm-memory part of the API.
type Memory struct{ c *Client }

// Memory returns the swarm-memory endpoints.
func (c *Client) Memory() *Memory { return &Memory{c: c} }

func memoryPath(ns, key string) string {
	return "/v1/memory/" + escape(ns) + "/" + escape(key)
}

// Put stores value (a JSON value) under namespace ns and key; a positive
// ttl makes the entry expire after that long.
func (m *Memory) Put(ctx context.Context, ns, key string, value json.RawMessage, ttl time.Duration) (*MemoryEntry, error) {
	body := &MemoryPutRequest{Value: value}
	if ttl > 0 {
		body.TTL = ttl.String()
	}
	var out MemoryEntry
	r := &request{method: http.MethodPut, path: memoryPath(ns, key), body: body, write: true, retry: true}
	if err := m.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Get returns one entry; a missing or expired one is a not_found *Error.
func (m *Memory) Get(ctx context.Context, ns, key string, q *QueryOptions) (*MemoryEntry, error) {
	var out MemoryEntry
	r := (&request{method: http.MethodGet, path: memoryPath(ns, key), retry: true}).applyQuery(q)
	if err := m.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Delete removes one entry.
func (m *Memory) Delete(ctx context.Context, ns, key string) error {
	r := &request{method: http.MethodDelete, path: memoryPath(ns, key), write: true, retry: true}
	return m.c.do(ctx, r, nil)
}

// Query returns the entries of namespace ns whose keys start with prefix
// and match pattern (a glob); empty strings do not filter.
func (m *Memory) Query(ctx context.Context, ns, prefix, pattern string, q *QueryOptions) (*MemoryList, error) {
	v := url.Values{}
	if prefix != "" {
		v.Set("prefix", prefix)
	}
	if pattern != "" {
		v.Set("pattern", pattern)
	}
	var out MemoryList
	r := (&request{method: http.MethodGet, path: "/v1/memory/" + escape(ns), query: v, retry: true}).applyQuery(q)
	if err := m.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Export returns every entry of namespace ns, or of all namespaces when
// ns is "". The answer is what Import takes back.
func (m *Memory) Export(ctx context.Context, ns string, q *QueryOptions) (*MemoryList, error) {
	v := url.Values{}
	if ns != "" {
		v.Set("namespace", ns)
	}
	var out MemoryList
	r := (&request{method: http.MethodGet, path: "/v1/memory", query: v, retry: true}).applyQuery(q)
	if err := m.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Import stores entries (as Export returned them) in one replicated write.
func (m *Memory) Import(ctx context.Context, entries []*MemoryEntry) (*MemoryImportResult, error) {
	var out MemoryImportResult
	r := &request{method: http.MethodPost, path: "/v1/memory", body: &MemoryImportRequest{Entries: entries}, write: true, retry: true}
	if err := m.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
