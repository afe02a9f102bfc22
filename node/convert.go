package node

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
)

// Conversions between the HTTP API's JSON types (package api) and the
// state machine's types (package fsm). API times are time.Time in UTC; fsm
// times are Unix nanoseconds, 0 meaning "not set". Hashes are lower-case
// hex in the API. Everything coming from a client is checked here and
// then by fsm.Validate, so nothing invalid is ever proposed.

// Limits on the representable times: time.Time.UnixNano is defined only
// between these.
var (
	minNanoTime = time.Unix(0, 0)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

// nanosToTime converts Unix nanoseconds to a UTC time.
func nanosToTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// nanosToTimePtr is nanosToTime, nil for 0.
func nanosToTimePtr(ns int64) *time.Time {
	if ns == 0 {
		return nil
	}
	t := nanosToTime(ns)
	return &t
}

// timeToNanos converts t to positive Unix nanoseconds.
func timeToNanos(field string, t time.Time) (int64, error) {
	if !t.After(minNanoTime) || t.After(maxNanoTime) {
		return 0, invalidArg("%s: time %s is outside 1970..2262", field, t.Format(time.RFC3339Nano))
	}
	return t.UnixNano(), nil
}

// hashHex renders a hash as lower-case hex.
func hashHex(h [32]byte) string { return hex.EncodeToString(h[:]) }

// parseHashParam checks a hex SHA-256 hash, or a prefix of at least
// fsm.MinHashPrefix digits, and returns it lower-cased.
func parseHashParam(field, s string) (string, error) {
	if len(s) < fsm.MinHashPrefix || len(s) > 64 || strings.Trim(strings.ToLower(s), "0123456789abcdef") != "" {
		return "", invalidArg("%s: want %d to 64 hex digits of a SHA-256 hash, got %q", field, fsm.MinHashPrefix, s)
	}
	return strings.ToLower(s), nil
}

// parseTimeParam parses a query time: RFC 3339 or Unix nanoseconds.
func parseTimeParam(field, s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return 0, invalidArg("%s: negative time %d", field, n)
		}
		return n, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, invalidArg("%s: want an RFC 3339 time or Unix nanoseconds, got %q", field, s)
	}
	return timeToNanos(field, t)
}

// parsePriority parses a priority level; "" is 0 (derived from labels).
func parsePriority(field, s string) (fsm.Priority, error) {
	if s == "" {
		return 0, nil
	}
	p, err := fsm.ParsePriority(s)
	if err != nil {
		return 0, invalidArg("%s: unknown priority %q (critical, high, medium, low)", field, s)
	}
	return p, nil
}

// checkBucket refuses a bucket the state machine does not know.
func checkBucket(field, b string) error {
	if b == "" || slices.Contains(fsm.Buckets(), b) {
		return nil
	}
	return invalidArg("%s: unknown bucket %q (%s)", field, b, strings.Join(fsm.Buckets(), ", "))
}

// checkIDs refuses empty work order IDs in a list.
func checkIDs(field string, ids []string) error {
	if slices.Contains(ids, "") {
		return invalidArg("%s: empty work order ID", field)
	}
	return nil
}

// rawJSON normalises an optional JSON value: absent or null is nil.
func rawJSON(field string, raw json.RawMessage) ([]byte, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil, nil
	}
	if !json.Valid(t) {
		return nil, invalidArg("%s: not valid JSON", field)
	}
	return bytes.Clone(t), nil
}

// payloadAndDeadline converts the optional payload and deadline of a
// create or a pipeline run.
func payloadAndDeadline(raw json.RawMessage, d *time.Time) (payload []byte, deadline int64, err error) {
	if payload, err = rawJSON("payload", raw); err != nil {
		return nil, 0, err
	}
	if d != nil {
		if deadline, err = timeToNanos("deadline", *d); err != nil {
			return nil, 0, err
		}
	}
	return payload, deadline, nil
}

// workOrderToAPI converts a work order for the API.
func workOrderToAPI(w *fsm.WorkOrder) *api.WorkOrder {
	if w == nil {
		return nil
	}
	out := &api.WorkOrder{
		ID:            w.ID,
		Title:         w.Title,
		Description:   w.Description,
		Type:          w.Kind,
		Bucket:        w.Bucket,
		Priority:      w.Priority.String(),
		Labels:        slices.Clone(w.Labels),
		Effort:        w.Effort,
		Stage:         w.Stage,
		Signal:        w.Signal,
		DependsOn:     slices.Clone(w.DependsOn),
		Dependents:    slices.Clone(w.Dependents),
		Parent:        w.Parent,
		Children:      slices.Clone(w.Children),
		State:         string(w.State),
		BlockedReason: w.BlockedReason,
		Attempt:       w.Attempt,
		Node:          w.Assignee.Node,
		Agent:         w.Assignee.Agent,
		Progress:      w.Progress,
		Result:        evidenceToAPI(w.Result),
		CreatedAt:     nanosToTime(w.CreatedAt),
		UpdatedAt:     nanosToTime(w.UpdatedAt),
		Deadline:      nanosToTimePtr(w.Deadline),
		StartedAt:     nanosToTimePtr(w.StartedAt),
		CompletedAt:   nanosToTimePtr(w.CompletedAt),
		CreateIndex:   w.CreateIndex,
		ModifyIndex:   w.ModifyIndex,

		Pipeline:        w.Pipeline,
		PipelineStep:    w.PipelineStep,
		Retry:           retryToAPI(w.Retry),
		Retries:         w.Retries,
		NotBefore:       nanosToTimePtr(w.NotBefore),
		LastReason:      w.LastReason,
		Andon:           w.Andon,
		FixFor:          w.FixFor,
		SLAWarned:       nanosToTimePtr(w.SLAWarned),
		SLABreached:     nanosToTimePtr(w.SLABreached),
		PredictedFinish: nanosToTimePtr(w.PredictedFinish),
		RunTimeout:      runTimeoutText(w.RunTimeout),
	}
	if len(w.Payload) > 0 {
		out.Payload = json.RawMessage(bytes.Clone(w.Payload))
	}
	return out
}

// workOrdersToAPI converts a list; never nil, so it encodes as [].
func workOrdersToAPI(ws []*fsm.WorkOrder) []*api.WorkOrder {
	out := make([]*api.WorkOrder, 0, len(ws))
	for _, w := range ws {
		out = append(out, workOrderToAPI(w))
	}
	return out
}

// evidenceToAPI converts evidence for the API.
func evidenceToAPI(e *fsm.Evidence) *api.Evidence {
	if e == nil {
		return nil
	}
	return &api.Evidence{ExitCode: e.ExitCode, Outputs: cloneMap(e.Outputs), Artifact: e.Artifact, Log: e.Log}
}

// evidenceFromAPI converts a client's evidence.
func evidenceFromAPI(e *api.Evidence) *fsm.Evidence {
	if e == nil {
		return nil
	}
	return &fsm.Evidence{ExitCode: e.ExitCode, Outputs: cloneMap(e.Outputs), Artifact: e.Artifact, Log: e.Log}
}

func cloneMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// receiptToAPI converts a receipt for the API.
func receiptToAPI(r *fsm.Receipt) *api.Receipt {
	if r == nil {
		return nil
	}
	return &api.Receipt{
		Seq:            r.Seq,
		Index:          r.Index,
		Time:           nanosToTime(r.Time),
		TimeUnixNano:   r.Time,
		PrevHash:       hashHex(r.PrevHash),
		Hash:           hashHex(r.Hash),
		WorkOrder:      r.WorkOrder,
		Event:          r.Event,
		From:           string(r.From),
		To:             string(r.To),
		Attempt:        r.Attempt,
		Node:           r.Node,
		Agent:          r.Agent,
		EvidenceDigest: hashHex(r.EvidenceDigest),
	}
}

// receiptFromAPI converts an exported receipt back, for verification by
// anyone holding a JSON Lines export.
func receiptFromAPI(r *api.Receipt) (*fsm.Receipt, error) {
	out := &fsm.Receipt{
		Seq: r.Seq, Index: r.Index, Time: r.TimeUnixNano,
		WorkOrder: r.WorkOrder, Event: r.Event,
		From: fsm.State(r.From), To: fsm.State(r.To),
		Attempt: r.Attempt, Node: r.Node, Agent: r.Agent,
	}
	for _, h := range []struct {
		name string
		s    string
		dst  *[32]byte
	}{{"prev_hash", r.PrevHash, &out.PrevHash}, {"hash", r.Hash, &out.Hash}, {"evidence_digest", r.EvidenceDigest, &out.EvidenceDigest}} {
		b, err := hex.DecodeString(h.s)
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("receipt %d: %s: want 64 hex digits", r.Seq, h.name)
		}
		copy(h.dst[:], b)
	}
	return out, nil
}

// memoryToAPI converts a swarm-memory entry for the API.
func memoryToAPI(e *fsm.MemoryEntry) *api.MemoryEntry {
	if e == nil {
		return nil
	}
	return &api.MemoryEntry{
		Namespace:   e.Namespace,
		Key:         e.Key,
		Value:       json.RawMessage(bytes.Clone(e.Value)),
		ExpiresAt:   nanosToTimePtr(e.ExpiresAt),
		UpdatedAt:   nanosToTime(e.UpdatedAt),
		CreateIndex: e.CreateIndex,
		ModifyIndex: e.ModifyIndex,
	}
}

// memoriesToAPI converts a list; never nil, so it encodes as [].
func memoriesToAPI(es []*fsm.MemoryEntry) []*api.MemoryEntry {
	out := make([]*api.MemoryEntry, 0, len(es))
	for _, e := range es {
		out = append(out, memoryToAPI(e))
	}
	return out
}

// createCommand builds the command for POST /v1/workorders.
func createCommand(req *api.CreateWorkOrderRequest, h fsm.Header) (*fsm.CreateWorkOrder, error) {
	if strings.TrimSpace(req.Title) == "" {
		return nil, invalidArg("title: required")
	}
	prio, err := parsePriority("priority", req.Priority)
	if err != nil {
		return nil, err
	}
	switch {
	case req.PriorityScore < 0 || req.PriorityScore > 10:
		return nil, invalidArg("priority_score: %d is outside 1..10", req.PriorityScore)
	case req.PriorityScore != 0 && prio != 0:
		return nil, invalidArg("priority_score: give priority or priority_score, not both")
	}
	if err := checkBucket("bucket", req.Bucket); err != nil {
		return nil, err
	}
	if req.Effort < 0 {
		return nil, invalidArg("effort: negative (%d)", req.Effort)
	}
	if slices.Contains(req.Labels, "") {
		return nil, invalidArg("labels: empty label")
	}
	if err := checkIDs("depends_on", req.DependsOn); err != nil {
		return nil, err
	}
	payload, deadline, err := payloadAndDeadline(req.Payload, req.Deadline)
	if err != nil {
		return nil, err
	}
	retry, err := retryFromAPI(req.Retry)
	if err != nil {
		return nil, err
	}
	runTimeout, err := runTimeoutFromAPI(req.RunTimeout)
	if err != nil {
		return nil, err
	}
	return &fsm.CreateWorkOrder{Header: h, Spec: fsm.WorkOrderSpec{
		Title:         req.Title,
		Description:   req.Description,
		Kind:          req.Type,
		Bucket:        req.Bucket,
		Priority:      prio,
		PriorityScore: req.PriorityScore,
		Labels:        slices.Clone(req.Labels),
		Payload:       payload,
		Effort:        req.Effort,
		Stage:         req.Stage,
		Signal:        req.Signal,
		DependsOn:     slices.Clone(req.DependsOn),
		Deadline:      deadline,
		Parent:        req.Parent,
		Retry:         retry,
		RunTimeout:    runTimeout,
	}}, nil
}

// transitionActions are the actions of POST /v1/workorders/{id}/{action}.
var transitionActions = map[string]fsm.Action{
	"start":    fsm.ActionStart,
	"advance":  fsm.ActionAdvance,
	"progress": fsm.ActionProgress,
	"complete": fsm.ActionComplete,
	"fail":     fsm.ActionFail,
	"cancel":   fsm.ActionCancel,
}

// transitionCommand builds the command for a transition action.
func transitionCommand(id string, action fsm.Action, req *api.TransitionRequest, h fsm.Header) (*fsm.Transition, error) {
	if id == "" {
		return nil, invalidArg("id: required")
	}
	if req.Cascade && action != fsm.ActionCancel {
		return nil, invalidArg("cascade: only valid for cancel")
	}
	if req.NoRetry && action != fsm.ActionFail {
		return nil, invalidArg("no_retry: only valid for fail")
	}
	return &fsm.Transition{
		Header:   h,
		ID:       id,
		Action:   action,
		Attempt:  req.Attempt,
		Agent:    req.Agent,
		Stage:    req.Stage,
		Progress: req.Progress,
		Evidence: evidenceFromAPI(req.Evidence),
		Reason:   req.Reason,
		Cascade:  req.Cascade,
		NoRetry:  req.NoRetry,
	}, nil
}

// dependencyCommand builds the command that adds (or removes) edges.
func dependencyCommand(id string, req *api.DependencyRequest, add bool, h fsm.Header) (fsm.Command, error) {
	if id == "" {
		return nil, invalidArg("id: required")
	}
	if len(req.DependsOn) == 0 {
		return nil, invalidArg("depends_on: at least one work order ID is required")
	}
	if err := checkIDs("depends_on", req.DependsOn); err != nil {
		return nil, err
	}
	if add {
		return &fsm.AddDependency{Header: h, ID: id, DependsOn: slices.Clone(req.DependsOn)}, nil
	}
	return &fsm.RemoveDependency{Header: h, ID: id, DependsOn: slices.Clone(req.DependsOn)}, nil
}

// checkNamespace refuses a namespace the state machine cannot hold.
func checkNamespace(ns string) error {
	if !fsm.ValidNamespace(ns) {
		return invalidArg("namespace: %q is not 1..%d bytes of [a-zA-Z0-9_.-]", ns, fsm.MaxNamespaceLen)
	}
	return nil
}

// checkMemoryKey refuses a malformed namespace or an empty key.
func checkMemoryKey(ns, key string) error {
	if err := checkNamespace(ns); err != nil {
		return err
	}
	if key == "" {
		return invalidArg("key: required")
	}
	return nil
}

// memoryPutCommand builds the command for PUT /v1/memory/{namespace}/{key}.
// The TTL becomes an absolute expiry from the proposer's clock.
func memoryPutCommand(ns, key string, req *api.MemoryPutRequest, h fsm.Header) (*fsm.MemoryPut, error) {
	if err := checkMemoryKey(ns, key); err != nil {
		return nil, err
	}
	value := bytes.TrimSpace(req.Value)
	if len(value) == 0 {
		return nil, invalidArg("value: required (any JSON value)")
	}
	if !json.Valid(value) {
		return nil, invalidArg("value: not valid JSON")
	}
	var expires int64
	if req.TTL != "" {
		ttl, err := time.ParseDuration(req.TTL)
		if err != nil {
			return nil, invalidArg("ttl: %q is not a Go duration such as \"10m\"", req.TTL)
		}
		if ttl <= 0 {
			return nil, invalidArg("ttl: must be positive, got %s", req.TTL)
		}
		if h.Time > math.MaxInt64-int64(ttl) {
			return nil, invalidArg("ttl: %s is too long", req.TTL)
		}
		expires = h.Time + int64(ttl)
	}
	return &fsm.MemoryPut{Header: h, Namespace: ns, Key: key, Value: bytes.Clone(value), ExpiresAt: expires}, nil
}

// memoryImportCommand builds the command for POST /v1/memory (import).
func memoryImportCommand(req *api.MemoryImportRequest, h fsm.Header) (*fsm.MemoryImport, error) {
	entries := make([]fsm.MemoryEntry, 0, len(req.Entries))
	for i, e := range req.Entries {
		if e == nil {
			return nil, invalidArg("entries[%d]: null entry", i)
		}
		if err := checkMemoryKey(e.Namespace, e.Key); err != nil {
			return nil, invalidArg("entries[%d].%s", i, err.(*apiError).message)
		}
		value := bytes.TrimSpace(e.Value)
		if len(value) == 0 {
			return nil, invalidArg("entries[%d].value: required (any JSON value)", i)
		}
		if !json.Valid(value) {
			return nil, invalidArg("entries[%d].value: not valid JSON", i)
		}
		var expires int64
		if e.ExpiresAt != nil {
			var err error
			if expires, err = timeToNanos(fmt.Sprintf("entries[%d].expires_at", i), *e.ExpiresAt); err != nil {
				return nil, err
			}
		}
		entries = append(entries, fsm.MemoryEntry{
			Namespace: e.Namespace, Key: e.Key, Value: bytes.Clone(value), ExpiresAt: expires,
		})
	}
	return &fsm.MemoryImport{Header: h, Entries: entries}, nil
}
