package node

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/hive-swarm/hive/fsm"
)

// newForwardTransport is the transport used to forward requests from a
// follower to the leader. It keeps enough idle connections for every
// request a busy follower may have in flight to the leader at once, so
// that forwarding never pays for a new TCP connection per request.
func newForwardTransport() *http.Transport {
	return &http.Transport{
		Proxy: nil, // node-to-node traffic never goes through a proxy
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: time.Minute,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
}

// forward sends the original request (method, path, query, headers and
// the buffered body) to the leader's HTTP address and relays its answer:
// a small write in a batch with others (forwardBatched), anything else on
// its own through a reverse proxy. A request that was already forwarded
// once is never forwarded again, so two nodes that each believe the other
// leads cannot loop. reqID, when set, is the idempotency key this node
// resolved; it is passed on so the leader applies the write under the
// same key.
func (s *httpServer) forward(w http.ResponseWriter, r *http.Request, body []byte, reqID string) {
	if by := r.Header.Get(headerForwardedBy); by != "" {
		notLeaderEither(w, by, s.b.Name())
		return
	}
	name, _, httpAddr := s.b.Leader()
	if httpAddr == "" {
		w.Header().Set(headerKnownLeader, "false")
		writeError(w, http.StatusServiceUnavailable, "no_leader",
			fmt.Sprintf("node %s is not the leader and no leader is known "+
				"(election in progress or quorum lost); retry shortly", s.b.Name()))
		return
	}
	if name == s.b.Name() {
		writeError(w, http.StatusServiceUnavailable, "no_leader",
			"leadership is changing on this node; retry shortly")
		return
	}
	target, err := s.leaderTarget(httpAddr)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "no_leader",
			fmt.Sprintf("leader %s has an unusable HTTP address %q: %v", name, httpAddr, err))
		return
	}
	isWrite := r.Method != http.MethodGet && r.Method != http.MethodHead
	if isWrite && s.batcher.batchable(target, r, body) {
		s.forwardBatched(w, r, body, reqID, name, httpAddr, target)
		return
	}
	s.proxy(w, r, body, reqID, name, httpAddr, target)
}

// notLeaderEither answers a request that node by forwarded to node self,
// which is not the leader either.
func notLeaderEither(w http.ResponseWriter, by, self string) {
	writeError(w, http.StatusServiceUnavailable, "no_leader", fmt.Sprintf(
		"node %s forwarded this request here, but %s is not the leader either "+
			"(leadership is changing); retry shortly", by, self))
}

// proxy forwards one request to the leader at target (a base URL) through
// a reverse proxy.
func (s *httpServer) proxy(w http.ResponseWriter, r *http.Request, body []byte, reqID, name, httpAddr, target string) {
	u, err := url.Parse(target)
	if err != nil {
		s.forwardFailed(w, r, name, httpAddr, err)
		return
	}
	proxy := &httputil.ReverseProxy{
		Transport: s.fwd,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.SetXForwarded()
			pr.Out.Header.Set(headerForwardedBy, s.b.Name())
			if reqID != "" && pr.Out.Header.Get(headerIdempotencyKey) == "" {
				pr.Out.Header.Set(headerIdempotencyKey, reqID)
			}
			pr.Out.Body = io.NopCloser(bytes.NewReader(body))
			pr.Out.ContentLength = int64(len(body))
			pr.Out.GetBody = func() (io.ReadCloser, error) {
				return io.NopCloser(bytes.NewReader(body)), nil
			}
			if len(body) == 0 {
				pr.Out.Body = http.NoBody
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			// A forwarded export streams for as long as the leader sends.
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-ndjson") {
				_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
			}
			return nil
		},
		// Answers of unknown length (exports, event streams) are flushed
		// as they come; others are written once.
		FlushInterval: 0,
		ErrorLog:      s.proxyLog,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			s.forwardFailed(w, r, name, httpAddr, err)
		},
	}
	proxy.ServeHTTP(w, r)
}

// leaderTarget is leaderURL(addr) as a string, remembered for the last
// address asked about: the leader changes rarely, and parsing its address
// for every forwarded write showed in profiles.
func (s *httpServer) leaderTarget(addr string) (string, error) {
	if c := s.target.Load(); c != nil && c[0] == addr {
		return c[1], nil
	}
	u, err := leaderURL(addr)
	if err != nil {
		return "", err
	}
	target := u.String()
	s.target.Store(&[2]string{addr, target})
	return target, nil
}

// leaderURL turns a leader's advertised HTTP address (HOST:PORT or a URL)
// into the base URL requests are forwarded to.
func leaderURL(addr string) (*url.URL, error) {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, err
	}
	if u.Host == "" {
		return nil, fmt.Errorf("no host")
	}
	u.Path, u.RawPath, u.RawQuery = "", "", ""
	return u, nil
}

// requestIDOf returns the request ID in a command's header.
func requestIDOf(cmd fsm.Command) string {
	if h := headerOf(cmd); h != nil {
		return h.RequestID
	}
	return ""
}
