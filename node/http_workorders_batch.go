package node

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
)

// maxBatchKeyLen bounds the Idempotency-Key of a batch create: the
// request ID derived from it, KEY/INDEX, must fit fsm.MaxNameLen.
const maxBatchKeyLen = fsm.MaxNameLen - len("/999")

// createWorkOrderBatch handles POST /v1/workorders/batch.
//
// The body is {"workorders":[CreateWorkOrderRequest, ...]} with 1 to
// 1000 items (api.MaxBatchWorkOrders) and at most 8 MiB (other routes
// take 1 MiB). Every item is decoded and validated before anything is
// proposed: an invalid item gets the whole request refused with 400 and
// the code a single create would give (invalid_argument, or bad_json and
// unknown_field for malformed items), with a message naming the item,
// "workorders[3]: title: required", and nothing changes.
//
// A valid batch is committed as ONE raft entry (an fsm.Batch of its
// CreateWorkOrder commands) and answered 201 with
// {"workorders":[item, ...]}, one item per request item and in its order
// (api.CreateWorkOrderBatchResponse): the created work order, or, for an
// item the state machine refused when applying the entry (an unknown
// dependency or parent, say), {"error":{"code":...,"message":...}} with
// what a single create would have answered; that item created nothing,
// the others were created. X-Hive-Index is the entry's index.
//
// Idempotency: an item's request_id is its idempotency key; an item
// without one gets KEY/INDEX when the request carries an Idempotency-Key
// KEY (at most 123 bytes), INDEX being its position in the batch. So a
// batch resent with the same key (or the same request_ids) answers with
// the first outcome and creates nothing twice; an item whose key was used
// before answers with that first outcome too. Two items may not share a
// request ID. Without any key every item gets a random one.
//
// On a follower the request is forwarded to the leader undecoded, as
// every write is (see write).
func (s *httpServer) createWorkOrderBatch(w http.ResponseWriter, r *http.Request) {
	body, aerr := readBodyLimit(w, r, maxBatchBodyBytes)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	if !s.b.IsLeader() && r.Header.Get(headerForwardedBy) == "" {
		s.forward(w, r, body, "")
		return
	}
	reqs, aerr := decodeBatchCreate(body)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	cmds, aerr := s.batchCommands(r.Header, reqs)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	results, err := s.proposeGroup(r.Context(), cmds)
	if errors.Is(err, ErrNotLeader) {
		s.forward(w, r, body, "")
		return
	}
	s.setLeaderHeader(w)
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	b, index, err := s.appendBatchAnswer(make([]byte, 0, 512*len(results)), results)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	h := w.Header()
	h.Set(headerIndex, strconv.FormatUint(index, 10))
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(b)
}

// batchCommands turns a batch's items into validated create commands,
// each with its request ID, or returns the error naming the first bad
// item.
func (s *httpServer) batchCommands(h http.Header, reqs []api.CreateWorkOrderRequest) ([]fsm.Command, *apiError) {
	key := h.Get(headerIdempotencyKey)
	if len(key) > maxBatchKeyLen {
		return nil, invalidArg("Idempotency-Key: longer than %d bytes (an item's request ID is KEY/INDEX)", maxBatchKeyLen)
	}
	cmds := make([]fsm.Command, len(reqs))
	seen := make(map[string]int, len(reqs))
	for i := range reqs {
		req := &reqs[i]
		id := req.RequestID
		if id == "" && key != "" {
			id = key + "/" + strconv.Itoa(i)
		}
		if id != "" {
			if j, dup := seen[id]; dup {
				return nil, invalidArg("workorders[%d]: request_id: %q is also the request ID of workorders[%d]", i, id, j)
			}
			seen[id] = i
		}
		cmd, err := createCommand(req, s.header(id))
		if err != nil {
			return nil, itemError(i, toAPIError(err))
		}
		if err := fsm.Validate(cmd); err != nil {
			return nil, itemError(i, validationError(err))
		}
		cmds[i] = cmd
	}
	return cmds, nil
}

// groupProposer is implemented by backends that commit several commands
// as one log entry (*Node).
type groupProposer interface {
	proposeGroup(ctx context.Context, cmds []fsm.Command) ([]*fsm.Result, error)
}

// proposeGroup commits cmds as one log entry and returns their results in
// order; an item's business refusal is in its Result's Err. A backend
// that cannot (the unit tests' state machine without raft) proposes them
// one by one, in order.
func (s *httpServer) proposeGroup(ctx context.Context, cmds []fsm.Command) ([]*fsm.Result, error) {
	if gp, ok := s.b.(groupProposer); ok {
		return gp.proposeGroup(ctx, cmds)
	}
	results := make([]*fsm.Result, len(cmds))
	for i, c := range cmds {
		res, err := s.b.Propose(ctx, c)
		if res == nil && err == nil {
			err = errors.New("propose returned no result")
		}
		if res == nil {
			return nil, err
		}
		results[i] = res
	}
	return results, nil
}

// appendBatchAnswer appends the answer body of a committed batch and
// returns it with the highest raft index among the results.
func (s *httpServer) appendBatchAnswer(b []byte, results []*fsm.Result) ([]byte, uint64, error) {
	var index uint64
	b = append(b, `{"workorders":[`...)
	for i, res := range results {
		if i > 0 {
			b = append(b, ',')
		}
		index = max(index, res.Index)
		var err error
		switch {
		case res.Err != nil:
			e := toAPIError(res.Err)
			var item []byte
			item, err = json.Marshal(&api.BatchItem{Error: &api.ErrorDetail{Code: e.code, Message: e.message, Cycle: e.cycle}})
			b = append(b, item...)
		case res.WorkOrder == nil:
			err = errors.New("the state machine returned no work order")
		case s.fastJSON:
			b, err = appendWorkOrderJSON(b, workOrderToAPI(res.WorkOrder))
		default:
			var item []byte
			item, err = json.Marshal(workOrderToAPI(res.WorkOrder))
			b = append(b, item...)
		}
		if err != nil {
			return nil, 0, err
		}
	}
	return append(b, "]}\n"...), index, nil
}

// proposeGroup commits cmds, stamped and validated as Propose does, as
// one log entry, whatever ProposeBatchMax says (a batch create holds at
// most api.MaxBatchWorkOrders commands, well under fsm.MaxBatch): the
// proposer takes a queued group whole. It returns one Result per command,
// in order, or the error that kept them all from committing (with
// ErrTimeout, ErrLeadershipLost or ErrShutdown they may have committed).
func (n *Node) proposeGroup(ctx context.Context, cmds []fsm.Command) ([]*fsm.Result, error) {
	if len(cmds) == 0 || len(cmds) > fsm.MaxBatch {
		return nil, fsm.Errorf(fsm.ErrInvalidArgument, "batch: %d commands (want 1..%d)", len(cmds), fsm.MaxBatch)
	}
	p := &proposal{cmds: cmds}
	for _, c := range cmds {
		if err := n.prepare(c); err != nil {
			return nil, err
		}
		p.size += approxSize(c)
	}
	if !n.IsLeader() {
		return nil, n.notLeaderErr()
	}
	res, err := n.submit(ctx, p)
	if err != nil {
		return nil, err
	}
	if len(res) != len(cmds) {
		return nil, errors.New("node: a group's entry answered " + strconv.Itoa(len(res)) + " results for " + strconv.Itoa(len(cmds)) + " commands")
	}
	return res, nil
}
