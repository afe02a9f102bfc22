package node

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/dashboard"
	"github.com/hive-swarm/hive/fsm"
)

// HTTP limits and timeouts of the API server.
const (
	// maxBodyBytes bounds every request body; larger bodies get 413.
	maxBodyBytes = 1 << 20

	httpReadHeaderTimeout = 10 * time.Second
	httpReadTimeout       = time.Minute
	httpWriteTimeout      = 2 * time.Minute
	httpIdleTimeout       = 2 * time.Minute
	httpMaxHeaderBytes    = 1 << 20

	// leaveTimeout bounds a leave started by PUT /v1/agent/leave.
	leaveTimeout = 2 * time.Minute
)

// Headers of the HTTP API.
const (
	headerIndex          = "X-Hive-Index"
	headerKnownLeader    = "X-Hive-Known-Leader"
	headerForwardedBy    = "X-Hive-Forwarded-By"
	headerIdempotencyKey = "Idempotency-Key"
)

// backend is what the HTTP handlers need from a node. *Node implements it;
// unit tests implement it over a real fsm.FSM without raft.
type backend interface {
	// Name is this node's name.
	Name() string
	// Propose commits cmd through raft; it fails with ErrNotLeader on a follower.
	Propose(ctx context.Context, cmd fsm.Command) (*fsm.Result, error)
	// View returns the local state (stale) or a linearizable one (leader only).
	View(ctx context.Context, stale bool) (*fsm.View, error)
	// IsLeader reports whether this node is the raft leader.
	IsLeader() bool
	// Leader names the current leader; empty strings when none is known.
	Leader() (name, raftAddr, httpAddr string)
	// Members lists the swarm's nodes.
	Members() []*api.Member
	// Status describes this node's raft state.
	Status() *api.Status
	// Join joins the gossip addresses and returns how many were reached.
	Join(ctx context.Context, addrs []string) (int, error)
	// Leave leaves the swarm gracefully.
	Leave(ctx context.Context) error
}

var _ backend = (*Node)(nil)

// httpServer serves the HTTP API of one node. Its handlers depend only on
// the backend, so they can be tested without raft.
type httpServer struct {
	b        backend
	logger   hclog.Logger
	mux      *http.ServeMux
	srv      *http.Server
	fwd      *http.Transport           // forwarding to the leader
	batcher  *forwardBatcher           // coalesces forwarded writes
	items    http.Handler              // serves the writes of a forwarded batch
	workers  *workerPool               // runs the writes of forwarded batches
	proxyLog *log.Logger               // the reverse proxy's errors
	fastJSON bool                      // work orders are encoded by hand (http_encode_workorder.go)
	target   atomic.Pointer[[2]string] // the leader's last HTTP address and its base URL

	bgCtx    context.Context // parent of request contexts; cancelled by stop
	bgCancel context.CancelFunc

	leaveCtx    context.Context // parent of a leave's context; cancelled by stop unless the leave itself stops us
	leaveCancel context.CancelFunc
	leaving     sync.Once

	bg      sync.WaitGroup // the Serve goroutine and a leave in progress
	streams takenOver      // event streams whose connections Shutdown no longer sees
}

// newHTTPServer builds the API handlers over b.
func newHTTPServer(b backend, logger hclog.Logger) *httpServer {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	s := &httpServer{
		b:      b,
		logger: logger,
		mux:    http.NewServeMux(),
		fwd:    newForwardTransport(),
	}
	s.fastJSON = workOrderEncoderMatches()
	s.proxyLog = logger.Named("forward").StandardLogger(nil)
	s.bgCtx, s.bgCancel = context.WithCancel(context.Background())
	s.leaveCtx, s.leaveCancel = context.WithCancel(context.Background())
	s.batcher = newForwardBatcher(s.bgCtx, b.Name(), s.fwd)
	s.workers = newWorkerPool(s.bgCtx)
	s.routes()
	s.items = s.handler()
	return s
}

// routes registers every route of api/doc.go.
func (s *httpServer) routes() {
	m := s.mux
	m.HandleFunc("POST /v1/workorders", s.write(s.createWorkOrder))
	m.HandleFunc("POST /v1/workorders/batch", s.createWorkOrderBatch) // forwards itself: its body may exceed maxBodyBytes
	m.HandleFunc("GET /v1/workorders", s.listWorkOrders)
	m.HandleFunc("GET /v1/workorders/{id}", s.getWorkOrder)
	m.HandleFunc("POST /v1/workorders/{id}/{action}", s.write(s.transitionWorkOrder))
	m.HandleFunc("POST /v1/workorders/{id}/dependencies", s.write(s.addDependencies))
	m.HandleFunc("DELETE /v1/workorders/{id}/dependencies", s.write(s.removeDependencies))
	m.HandleFunc("GET /v1/workorders/{id}/explain", s.explainWorkOrder)
	m.HandleFunc("GET /v1/queue", s.queue)

	m.HandleFunc("POST /v1/andon", s.write(s.triggerAndon))
	m.HandleFunc("GET /v1/andon", s.listAndons)
	m.HandleFunc("GET /v1/andon/{id}", s.getAndon)
	m.HandleFunc("PATCH /v1/andon/{id}", s.write(s.updateAndon))
	m.HandleFunc("POST /v1/andon/{id}/resolve", s.write(s.resolveAndon))

	m.HandleFunc("GET /v1/scheduler", s.getScheduler)
	m.HandleFunc("PUT /v1/scheduler", s.write(s.putScheduler()))
	m.HandleFunc("GET /v1/pipelines", s.listPipelines)
	m.HandleFunc("GET /v1/pipelines/{name}", s.getPipeline)
	m.HandleFunc("POST /v1/pipelines/{name}/runs", s.write(s.runPipeline))
	m.HandleFunc("GET /v1/kanban", s.kanban)

	m.HandleFunc("GET /v1/receipts", s.listReceipts)
	m.HandleFunc("GET /v1/receipts/{seq}", s.getReceipt)
	m.HandleFunc("GET /v1/receipts/verify", s.verifyReceipts)
	m.HandleFunc("GET /v1/receipts/export", s.exportReceipts)

	m.HandleFunc("PUT /v1/memory/{namespace}/{key}", s.write(s.memoryPut))
	m.HandleFunc("GET /v1/memory/{namespace}/{key}", s.memoryGet)
	m.HandleFunc("DELETE /v1/memory/{namespace}/{key}", s.write(s.memoryDelete))
	m.HandleFunc("GET /v1/memory/{namespace}", s.memoryList)
	m.HandleFunc("GET /v1/memory", s.memoryExport)
	m.HandleFunc("POST /v1/memory", s.write(s.memoryImport))
	// api/types.go names the import route /v1/memory/import; accept both.
	m.HandleFunc("POST /v1/memory/import", s.write(s.memoryImport))

	m.HandleFunc("GET /v1/members", s.members)
	m.HandleFunc("GET /v1/status", s.status)
	m.HandleFunc("PUT /v1/agent/join", s.agentJoin)
	m.HandleFunc("PUT /v1/agent/leave", s.agentLeave)
	m.HandleFunc("GET /v1/agent/logs", s.agentLogs)

	m.HandleFunc("GET /v1/events", s.streamEvents)
	m.HandleFunc("GET /api/stream", s.streamEvents)
	m.HandleFunc("GET /api/health", s.apiHealth)
	m.HandleFunc("GET /api/metrics/summary", s.apiMetricsSummary)
	m.HandleFunc("GET /metrics", s.serveMetrics)

	m.HandleFunc("POST "+pathForwardBatch, s.forwardedBatch)
	dashboard.Mount(m) // the web page: GET / and its assets under /ui/
}

// write wraps a handler whose request is a proposal. A follower forwards
// such a request to the leader as it came, without decoding it, as
// Consul's and Nomad's RPC layers do: the leader decodes, validates and
// answers it, and the follower relays the answer. A request that was
// already forwarded once goes to the handler, which answers it itself
// (and never forwards it again).
func (s *httpServer) write(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.b.IsLeader() || r.Header.Get(headerForwardedBy) != "" {
			h(w, r)
			return
		}
		body, aerr := readBody(w, r)
		if aerr != nil {
			writeAPIError(w, aerr)
			return
		}
		s.forward(w, r, body, "")
	}
}

// debugRoutes serves Go's profiler under /debug/pprof/, as Consul does
// with enable_debug. It is off by default: profiles reveal internals and
// cost CPU while they are taken.
func (s *httpServer) debugRoutes() {
	m := s.mux
	m.HandleFunc("GET /debug/pprof/", pprof.Index)
	m.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	m.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	m.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}

// handler returns the API with panic recovery, access logging and JSON
// answers for unknown routes and methods.
func (s *httpServer) handler() http.Handler {
	return s.recoverer(s.instrument(s.accessLog(http.HandlerFunc(s.route))))
}

// route dispatches to the mux, answering with our JSON errors where the
// mux itself would answer 404 or 405 in plain text.
func (s *httpServer) route(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	// The mux's own answer: 404, 405 (with Allow) or a redirect to the
	// canonical path. Capture it and translate the errors.
	c := &captureWriter{header: http.Header{}}
	h.ServeHTTP(c, r)
	switch c.status {
	case http.StatusNotFound:
		writeError(w, http.StatusNotFound, "no_route",
			fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
	case http.StatusMethodNotAllowed:
		if allow := c.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed",
			fmt.Sprintf("method %s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, c.header.Get("Allow")))
	default:
		for k, v := range c.header {
			w.Header()[k] = v
		}
		if c.status == 0 {
			c.status = http.StatusOK
		}
		w.WriteHeader(c.status)
		_, _ = w.Write(c.body.Bytes())
	}
}

// header builds the command header a proposer stamps.
func (s *httpServer) header(id string) fsm.Header {
	return fsm.Header{RequestID: id, Time: time.Now().UnixNano(), Node: s.b.Name()}
}

// setLeaderHeader sets X-Hive-Known-Leader.
func (s *httpServer) setLeaderHeader(w http.ResponseWriter) {
	known := s.b.IsLeader() // cheap, and true on the busy path
	if !known {
		name, _, _ := s.b.Leader()
		known = name != ""
	}
	w.Header().Set(headerKnownLeader, strconv.FormatBool(known))
}

// propose validates cmd, then commits it. On a follower it forwards the
// original request (with its buffered body) to the leader and returns
// nil, nil: the answer has been written. Any other failure is written too
// and returned as nil, nil; the caller answers only a non-nil Result.
func (s *httpServer) propose(w http.ResponseWriter, r *http.Request, body []byte, cmd fsm.Command) *fsm.Result {
	if err := fsm.Validate(cmd); err != nil {
		writeAPIError(w, validationError(err))
		return nil
	}
	res, err := s.b.Propose(r.Context(), cmd)
	if errors.Is(err, ErrNotLeader) {
		s.forward(w, r, body, requestIDOf(cmd))
		return nil
	}
	if err == nil && res == nil {
		err = errors.New("propose returned no result")
	}
	if err == nil {
		err = res.Err
	}
	if err != nil {
		s.setLeaderHeader(w)
		writeAPIError(w, toAPIError(err))
		return nil
	}
	s.setLeaderHeader(w)
	w.Header().Set(headerIndex, strconv.FormatUint(res.Index, 10))
	return res
}

// view returns the state a read answers from: local with ?stale, else
// linearizable, forwarding to the leader on a follower. It returns nil
// when the answer has already been written.
func (s *httpServer) view(w http.ResponseWriter, r *http.Request) *fsm.View {
	v, err := s.b.View(r.Context(), isStale(r))
	if errors.Is(err, ErrNotLeader) {
		s.forward(w, r, nil, "")
		return nil
	}
	s.setLeaderHeader(w)
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return nil
	}
	w.Header().Set(headerIndex, strconv.FormatUint(v.Index(), 10))
	return v
}

// readView refuses any query parameter but stale, then reads the view as
// view does. It has answered when it returns nil.
func (s *httpServer) readView(w http.ResponseWriter, r *http.Request) *fsm.View {
	if err := checkQuery(r.URL.Query(), "stale"); err != nil {
		writeAPIError(w, toAPIError(err))
		return nil
	}
	return s.view(w, r)
}

// startHTTP serves the API on n.httpListener until stopHTTP.
func (n *Node) startHTTP() error {
	if n.httpListener == nil {
		return errors.New("node: no HTTP listener")
	}
	s := newHTTPServer(n, n.logger.Named("http"))
	if n.cfg.EnableDebug {
		s.debugRoutes()
	}
	s.srv = &http.Server{
		Handler:           s.items, // the same chain serves forwarded batch items
		ReadHeaderTimeout: httpReadHeaderTimeout,
		ReadTimeout:       httpReadTimeout,
		WriteTimeout:      httpWriteTimeout,
		IdleTimeout:       httpIdleTimeout,
		MaxHeaderBytes:    httpMaxHeaderBytes,
		ErrorLog:          n.logger.Named("http").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
		BaseContext:       func(net.Listener) context.Context { return s.bgCtx },
	}
	n.http = s
	ln := n.httpListener
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("HTTP server stopped", "error", err)
		}
	}()
	return nil
}

// stopHTTP stops accepting requests, waits (until ctx is done) for the
// ones in flight, then for the server's background goroutines. Called from
// the leave goroutine itself (through Leave → Shutdown with the context
// Leave was given) it does not wait for that goroutine.
func (n *Node) stopHTTP(ctx context.Context) error {
	s := n.http
	if s == nil {
		return nil
	}
	var err error
	if s.srv != nil {
		if err = s.srv.Shutdown(ctx); err != nil {
			_ = s.srv.Close()
		}
	}
	return errors.Join(err, s.stop(ctx))
}

// leaveCtxKey marks the context of the leave goroutine.
type leaveCtxKey struct{}

// stop cancels the requests still running and a leave in progress, then
// waits for the background goroutines until ctx is done. Called from a
// leave (its context reaches Shutdown), it neither cancels that leave nor
// waits for it: the goroutine ends as soon as Leave returns.
func (s *httpServer) stop(ctx context.Context) error {
	s.bgCancel()
	streamsErr := s.streams.close(ctx)
	s.batcher.halt()
	if ctx.Value(leaveCtxKey{}) != nil {
		s.fwd.CloseIdleConnections()
		return streamsErr
	}
	s.leaveCancel()
	done := make(chan struct{})
	go func() {
		s.bg.Wait()
		_ = s.batcher.stop(ctx)
		_ = s.workers.stop(ctx)
		s.fwd.CloseIdleConnections()
		close(done)
	}()
	select {
	case <-done:
		return streamsErr
	case <-ctx.Done():
		return fmt.Errorf("http: waiting for background work: %w", ctx.Err())
	}
}
