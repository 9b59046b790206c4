package eventsqueryextension // import "github.com/otelcol-events/otelcol-events/extension/eventsqueryextension"

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"mime"
	"net/http"
	"path"
	"time"

	"github.com/otelcol-events/otelcol-events/internal/httpapi"
)

// The dashboard: static pages that read the API from the browser. No
// third-party code: two charts drawn with the DOM are smaller than a chart
// library and its vendoring step.
//
//go:embed ui
var uiFiles embed.FS

const routeUI = "/ui/"

// uiPages maps the dashboard's paths (below routeUI) to its files.
var uiPages = map[string]string{
	"":             "index.html",
	"conversation": "conversation.html",
	"event":        "event.html",
	"app.js":       "app.js",
	"style.css":    "style.css",
}

// uiSecurityPolicy lets the pages run only their own script and style and
// talk only to their own origin: an event value that reached the page as
// markup still could not run.
const uiSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

type uiFile struct {
	content     []byte
	contentType string
	etag        string
}

// uiAssets are the dashboard's files, read once.
var uiAssets = loadUIAssets()

func loadUIAssets() map[string]uiFile {
	out := make(map[string]uiFile, len(uiPages))
	for route, name := range uiPages {
		data, err := uiFiles.ReadFile("ui/" + name)
		if err != nil {
			panic("eventsquery: embedded dashboard file missing: " + name)
		}
		sum := sha256.Sum256(data)
		out[route] = uiFile{
			content:     data,
			contentType: mime.TypeByExtension(path.Ext(name)),
			etag:        `"` + hex.EncodeToString(sum[:8]) + `"`,
		}
	}
	return out
}

// serveUI answers the dashboard's paths: / and /ui redirect to /ui/.
func serveUI(w http.ResponseWriter, req *http.Request, p string) {
	if !readMethod(req) {
		httpapi.WriteMethodNotAllowed(w, req, allowedMethods)
		return
	}
	switch p {
	case "/", "/ui":
		// Relative, so that it also leads there behind a path prefix.
		w.Header().Set("Location", "ui/")
		w.WriteHeader(http.StatusFound)
		return
	}
	f, ok := uiAssets[p[len(routeUI):]]
	if !ok {
		httpapi.WriteError(w, http.StatusNotFound, httpapi.CodeNotFound, "no dashboard page "+p)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Content-Security-Policy", uiSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	// Revalidated on each load: a new binary serves new pages at once.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	http.ServeContent(w, req, "", time.Time{}, bytes.NewReader(f.content))
}
