package node

import (
	"context"
	"errors"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
)

// The creates of a forwarded batch take a short cut on the leader: rather
// than each being served through the HTTP handlers on a goroutine of its
// own, they are decoded here one after the other and proposed together
// (ProposeBatch), so that a follower's batch becomes a single raft entry
// and costs the leader no per-write request, header map or goroutine. The
// answers are byte for byte those createWorkOrder gives.

// batchProposer is implemented by backends that commit several commands
// in one go (*Node); others get their commands proposed concurrently.
type batchProposer interface {
	ProposeBatch(ctx context.Context, cmds []fsm.Command) ([]*fsm.Result, []error)
}

// isForwardedCreate reports whether q is a create that may take the short
// cut.
func isForwardedCreate(q *fwdRequest) bool {
	return q.method == http.MethodPost && q.uri == "/v1/workorders"
}

// serveForwardedCreates serves the creates reqs[i] for i in idx, which
// came from the node by, and hands each answer to answer.
func (s *httpServer) serveForwardedCreates(ctx context.Context, by string, reqs []*fwdRequest, idx []int, answer func(int, *fwdResponse)) {
	start := time.Now()
	cmds := make([]fsm.Command, 0, len(idx))
	pos := make([]int, 0, len(idx))
	for _, i := range idx {
		cmd, resp := s.forwardedCreateCommand(reqs[i])
		if resp != nil {
			s.logForwarded(by, resp, start)
			answer(i, resp)
			continue
		}
		cmds = append(cmds, cmd)
		pos = append(pos, i)
	}
	if len(cmds) == 0 {
		return
	}
	results, errs := s.proposeMany(ctx, cmds)
	for k, i := range pos {
		resp := s.forwardedCreateAnswer(by, results[k], errs[k])
		s.logForwarded(by, resp, start)
		answer(i, resp)
	}
}

// forwardedCreateCommand decodes one forwarded create into its command,
// or returns the answer that refuses it.
func (s *httpServer) forwardedCreateCommand(q *fwdRequest) (cmd fsm.Command, resp *fwdResponse) {
	defer func() {
		if v := recover(); v != nil {
			s.logger.Error("forwarded write panicked", "method", q.method, "uri", q.uri,
				"panic", v, "stack", string(debug.Stack()))
			cmd, resp = nil, errorAnswer(&apiError{status: http.StatusInternalServerError, code: "internal", message: "internal error"})
		}
	}()
	if len(q.body) > maxBodyBytes {
		return nil, errorAnswer(bodyTooLarge(maxBodyBytes))
	}
	var req api.CreateWorkOrderRequest
	if aerr := decodeCreate(q.body, &req); aerr != nil {
		return nil, errorAnswer(aerr)
	}
	id, aerr := requestIDFrom(q.header, req.RequestID)
	if aerr != nil {
		return nil, errorAnswer(aerr)
	}
	c, err := createCommand(&req, s.header(id))
	if err != nil {
		return nil, errorAnswer(toAPIError(err))
	}
	if err := fsm.Validate(c); err != nil {
		return nil, errorAnswer(validationError(err))
	}
	return c, nil
}

// forwardedCreateAnswer is what createWorkOrder answers a forwarded create
// whose proposal ended with res and err.
func (s *httpServer) forwardedCreateAnswer(by string, res *fsm.Result, err error) *fwdResponse {
	rec := &captureWriter{header: make(http.Header, 4)}
	switch {
	case errors.Is(err, ErrNotLeader):
		notLeaderEither(rec, by, s.b.Name())
	case err == nil && res == nil:
		err = errors.New("propose returned no result")
		fallthrough
	case err != nil:
		s.setLeaderHeader(rec)
		writeAPIError(rec, toAPIError(err))
	default:
		s.setLeaderHeader(rec)
		rec.header.Set(headerIndex, strconv.FormatUint(res.Index, 10))
		s.writeWorkOrderResult(rec, res, http.StatusCreated)
	}
	return &fwdResponse{status: rec.status, header: rec.header, body: rec.body.Bytes()}
}

// errorAnswer is the answer carrying e.
func errorAnswer(e *apiError) *fwdResponse {
	rec := &captureWriter{header: make(http.Header, 2)}
	writeAPIError(rec, e)
	return &fwdResponse{status: rec.status, header: rec.header, body: rec.body.Bytes()}
}

// proposeMany commits cmds, in one go when the backend can.
func (s *httpServer) proposeMany(ctx context.Context, cmds []fsm.Command) ([]*fsm.Result, []error) {
	if bp, ok := s.b.(batchProposer); ok {
		return bp.ProposeBatch(ctx, cmds)
	}
	results := make([]*fsm.Result, len(cmds))
	errs := make([]error, len(cmds))
	var wg sync.WaitGroup
	for i, c := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = s.b.Propose(ctx, c)
		}()
	}
	wg.Wait()
	return results, errs
}

// logForwarded logs a forwarded create at debug level, as the access log
// logs every request.
func (s *httpServer) logForwarded(by string, resp *fwdResponse, start time.Time) {
	if s.logger.IsDebug() {
		s.logger.Debug("http request", "method", http.MethodPost, "path", "/v1/workorders",
			"status", resp.status, "bytes", len(resp.body), "duration", time.Since(start),
			"forwarded_by", by)
	}
}
