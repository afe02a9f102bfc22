// Package dashboard serves Hive's web dashboard: a single page (kanban
// board, work orders with their receipts and dependency graph, members,
// andon, SLA risk, receipt search) that every node serves at "/".
//
// The page is plain HTML, CSS and JavaScript modules embedded in the
// binary: no build step, no CDN, no external fonts. It reads the node's
// HTTP API (/v1/…, /api/health, /api/metrics/summary) with stale reads,
// so it keeps showing the node's own state when the cluster is lost, and
// follows /api/stream (SSE) for live updates.
//
// The package imports nothing else of Hive.
package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// AssetPrefix is the path under which the page's scripts and styles are
// served; the page itself is served at "/".
const AssetPrefix = "/ui/"

// patterns are the ServeMux patterns the dashboard answers: exactly "/"
// and the assets under AssetPrefix, so it never shadows the API's routes
// (/v1, /api, /metrics, /debug) nor their JSON 404 and 405 answers.
var patterns = [...]string{"GET /{$}", "GET " + AssetPrefix}

// contentSecurityPolicy allows only the node's own scripts, styles,
// connections and inline SVG images.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

//go:embed static
var static embed.FS

// asset is one embedded file ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// contentTypes maps the extensions the dashboard ships to their types;
// mime.TypeByExtension would depend on the host's mime tables.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// Handler serves the dashboard: "/" is the page, AssetPrefix+name its
// assets; any other path, or an unknown asset, is 404. Only GET and HEAD
// are answered (405 otherwise).
func Handler() http.Handler {
	h, err := newHandler(static)
	if err != nil {
		// The embedded files are fixed at build time and checked by the
		// package's tests; failing here means a broken build.
		panic(fmt.Sprintf("dashboard: %v", err))
	}
	return h
}

// Mount registers Handler on mux for "GET /{$}" and "GET "+AssetPrefix
// (GET patterns also match HEAD).
func Mount(mux *http.ServeMux) {
	h := Handler()
	for _, p := range patterns {
		mux.Handle(p, h)
	}
}

// handler serves the embedded files, indexed by URL path.
type handler struct {
	files map[string]*asset
}

// newHandler loads every file under static/ of fsys: static/index.html
// is served at "/", static/ui/x at AssetPrefix+"x".
func newHandler(fsys fs.FS) (*handler, error) {
	h := &handler{files: make(map[string]*asset)}
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return fmt.Errorf("%s: no content type for its extension", p)
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		sum := sha256.Sum256(b)
		urlPath := strings.TrimPrefix(p, "static")
		if urlPath == "/index.html" {
			urlPath = "/"
		}
		h.files[urlPath] = &asset{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load embedded files: %w", err)
	}
	if h.files["/"] == nil {
		return nil, fmt.Errorf("static/index.html is missing")
	}
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	a := h.files[r.URL.Path]
	if a == nil {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Security-Policy", contentSecurityPolicy)
	hdr.Set("Referrer-Policy", "no-referrer")
	// Revalidate every time: a node upgraded in place must not leave an
	// old script cached beside a new page.
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("ETag", a.etag)
	// ServeContent answers If-None-Match with 304, HEAD without a body
	// and sets Content-Length; the zero time sends no Last-Modified.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
