package eventsqueryextension

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestDashboardRoutes(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, &fakeReader{}, nil)
	noRedirect := *srv.Client()
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	tests := []struct {
		method, path string
		status       int
		contentType  string
		location     string
	}{
		{"GET", "/", 302, "", "ui/"},
		{"GET", "/ui", 302, "", "ui/"},
		{"GET", "/ui/", 200, "text/html; charset=utf-8", ""},
		{"HEAD", "/ui/", 200, "text/html; charset=utf-8", ""},
		{"GET", "/ui/conversation", 200, "text/html; charset=utf-8", ""},
		{"GET", "/ui/event", 200, "text/html; charset=utf-8", ""},
		{"GET", "/ui/app.js", 200, "text/javascript; charset=utf-8", ""},
		{"GET", "/ui/style.css", 200, "text/css; charset=utf-8", ""},
		{"GET", "/ui/nope", 404, "application/json", ""},
		{"GET", "/ui/../health", 404, "application/json", ""},
		{"POST", "/ui/", 405, "application/json", ""},
		{"DELETE", "/", 405, "application/json", ""},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
			continue
		}
		if tt.contentType != "" && resp.Header.Get("Content-Type") != tt.contentType {
			t.Errorf("%s %s: Content-Type %q, want %q", tt.method, tt.path, resp.Header.Get("Content-Type"), tt.contentType)
		}
		if tt.location != "" && resp.Header.Get("Location") != tt.location {
			t.Errorf("%s %s: Location %q, want %q", tt.method, tt.path, resp.Header.Get("Location"), tt.location)
		}
		if tt.status == 200 && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("%s %s: no Content-Security-Policy", tt.method, tt.path)
		}
	}

	// The ETag makes a reload cheap.
	a := do(t, srv, "GET", "/ui/app.js")
	req, _ := http.NewRequest("GET", srv.URL+"/ui/app.js", nil)
	req.Header.Set("If-None-Match", a.header.Get("ETag"))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if a.header.Get("ETag") == "" || resp.StatusCode != http.StatusNotModified {
		t.Errorf("ETag %q, revalidation %d, want 304", a.header.Get("ETag"), resp.StatusCode)
	}
}

// TestDashboardNeverParsesDataAsHTML: the pages put API values into the DOM
// only as text. The browser test (test/browser) proves it with hostile data;
// this keeps the APIs that parse strings as markup out of the code.
func TestDashboardNeverParsesDataAsHTML(t *testing.T) {
	t.Parallel()
	sink := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser|eval\(|new Function`)
	for route, f := range uiAssets {
		if loc := sink.FindIndex(f.content); loc != nil {
			t.Errorf("ui file %q uses %s", route, f.content[loc[0]:loc[1]])
		}
	}
	if len(uiAssets) != len(uiPages) {
		t.Errorf("%d assets for %d pages", len(uiAssets), len(uiPages))
	}
}
