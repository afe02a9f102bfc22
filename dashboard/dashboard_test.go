package dashboard_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/hive-swarm/hive/dashboard"
)

// get serves one request through h and returns the answer and its body.
func get(t *testing.T, h http.Handler, method, path string, hdr ...string) (*http.Response, string) {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := w.Result()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return res, string(b)
}

// TestHandlerServesIndexAndAssets checks the page, every asset it loads
// (following the module imports of the scripts) and their content types.
func TestHandlerServesIndexAndAssets(t *testing.T) {
	h := dashboard.Handler()
	res, body := get(t, h, http.MethodGet, "/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /: status %d", res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("GET /: Content-Type %q", ct)
	}
	if !strings.Contains(body, `<script type="module" src="/ui/app.js">`) {
		t.Errorf("GET /: the page does not load /ui/app.js:\n%s", body)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("GET /: Content-Security-Policy %q", csp)
	}

	wantType := map[string]string{
		".js":  "text/javascript; charset=utf-8",
		".css": "text/css; charset=utf-8",
		".svg": "image/svg+xml",
	}
	refs := regexp.MustCompile(`(?:src|href)="(/ui/[^"]+)"`)
	imports := regexp.MustCompile(`(?m)^import .* from '\./([^']+)';$`)
	todo := []string{}
	for _, m := range refs.FindAllStringSubmatch(body, -1) {
		todo = append(todo, m[1])
	}
	seen := map[string]bool{}
	for len(todo) > 0 {
		p := todo[0]
		todo = todo[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		res, body := get(t, h, http.MethodGet, p)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", p, res.StatusCode)
			continue
		}
		ext := p[strings.LastIndex(p, "."):]
		if ct := res.Header.Get("Content-Type"); ct != wantType[ext] {
			t.Errorf("GET %s: Content-Type %q, want %q", p, ct, wantType[ext])
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no X-Content-Type-Options: nosniff", p)
		}
		if ext == ".js" {
			for _, m := range imports.FindAllStringSubmatch(body, -1) {
				todo = append(todo, "/ui/"+m[1])
			}
		}
	}
	for _, p := range []string{"/ui/app.js", "/ui/style.css", "/ui/stream.js", "/ui/graph.js", "/ui/favicon.svg"} {
		if !seen[p] {
			t.Errorf("%s is not reachable from the page", p)
		}
	}
}

// TestHandlerNotFound checks that unknown paths and assets are 404.
func TestHandlerNotFound(t *testing.T) {
	h := dashboard.Handler()
	for _, p := range []string{"/ui/nope.js", "/ui/", "/index.html", "/ui/../index.html", "/static/index.html", "/v1/workorders"} {
		if res, _ := get(t, h, http.MethodGet, p); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, res.StatusCode)
		}
	}
	if res, _ := get(t, h, http.MethodPost, "/"); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: status %d, want 405", res.StatusCode)
	}
}

// TestHandlerCaching checks HEAD and revalidation with the ETag.
func TestHandlerCaching(t *testing.T) {
	h := dashboard.Handler()
	res, body := get(t, h, http.MethodHead, "/ui/app.js")
	if res.StatusCode != http.StatusOK || body != "" || res.Header.Get("Content-Length") == "" {
		t.Fatalf("HEAD /ui/app.js: status %d, %d body bytes, Content-Length %q",
			res.StatusCode, len(body), res.Header.Get("Content-Length"))
	}
	etag := res.Header.Get("ETag")
	if etag == "" || res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("HEAD /ui/app.js: ETag %q, Cache-Control %q", etag, res.Header.Get("Cache-Control"))
	}
	if res, _ := get(t, h, http.MethodGet, "/ui/app.js", "If-None-Match", etag); res.StatusCode != http.StatusNotModified {
		t.Errorf("GET with the ETag: status %d, want 304", res.StatusCode)
	}
	if res, _ := get(t, h, http.MethodGet, "/ui/app.js", "If-None-Match", `"other"`); res.StatusCode != http.StatusOK {
		t.Errorf("GET with another ETag: status %d, want 200", res.StatusCode)
	}
}

// TestMountDoesNotShadowTheAPI mounts the dashboard beside API routes and
// checks that unknown API paths still fall through to the mux (no
// pattern), so the API keeps its own 404 and 405 answers.
func TestMountDoesNotShadowTheAPI(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "api") })
	dashboard.Mount(mux)
	for _, tc := range []struct {
		method, path, pattern string
	}{
		{"GET", "/", "GET /{$}"},
		{"HEAD", "/", "GET /{$}"},
		{"GET", "/ui/app.js", "GET /ui/"},
		{"GET", "/v1/status", "GET /v1/status"},
		{"GET", "/v1/nope", ""},
		{"POST", "/v1/nope", ""},
		{"GET", "/api/nope", ""},
		{"GET", "/metrics", ""},
		{"GET", "/debug/pprof/", ""},
	} {
		_, pattern := mux.Handler(httptest.NewRequest(tc.method, tc.path, nil))
		if pattern != tc.pattern {
			t.Errorf("%s %s: matched %q, want %q", tc.method, tc.path, pattern, tc.pattern)
		}
	}
	if res, body := get(t, mux, http.MethodGet, "/"); res.StatusCode != http.StatusOK || !strings.Contains(body, "Hive") {
		t.Errorf("GET / through the mux: status %d", res.StatusCode)
	}
}
