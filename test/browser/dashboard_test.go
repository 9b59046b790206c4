// Package browser opens the eventsquery dashboard of the built collector in
// headless Chromium (Debian's chromium, driven over the DevTools protocol by
// chromedp) and checks what the pages show against a dataset written
// through the API. `make test-browser` installs the browser and runs it;
// screenshots go to $BROWSER_TEST_OUT (bin/browser-test with make), else to
// the test's artifact directory (go test -artifacts).
package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

const waitTimeout = 30 * time.Second

func chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return required(t, "CHROMIUM", "", "")
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium not found (install it with scripts/chromium.sh, or set CHROMIUM): %v", err)
	}
	return p
}

// browser is one headless Chromium tab with what it reported: console
// errors and warnings, uncaught exceptions, failed loads, dialogs.
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []string
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // root in CI
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 800),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{}
	dialogs := make(chan struct{}, 16)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			switch e.Type {
			case runtime.ConsoleAPICalledTypeError, runtime.ConsoleAPICalledTypeWarning, runtime.ConsoleAPICalledTypeAssert:
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				b.report("console.%s: %s", e.Type, strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			b.report("uncaught exception: %s", msg)
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning {
				b.report("%s (%s): %s %s", e.Entry.Level, e.Entry.Source, e.Entry.Text, e.Entry.URL)
			}
		case *page.EventJavascriptDialogOpening:
			b.report("a dialog opened (%s): %s", e.Type, e.Message)
			select {
			case dialogs <- struct{}{}:
			default:
			}
		}
	}))
	b.ctx = ctx
	t.Cleanup(func() { cancel(); cancelAlloc() })
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)), "start chromium")
	// A dialog would block the page: dismiss it (the report fails the test).
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-dialogs:
				_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
			}
		}
	}()
	return b
}

func (b *browser) report(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, fmt.Sprintf(format, args...))
}

// checkClean fails the test with what the page reported since the last call.
func (b *browser) checkClean(t *testing.T, where string) {
	t.Helper()
	b.mu.Lock()
	problems := b.problems
	b.problems = nil
	b.mu.Unlock()
	for _, p := range problems {
		t.Errorf("%s: %s", where, p)
	}
	xss, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](
		`window.__xss !== undefined || document.querySelectorAll("img, script:not([src]), [onerror], [onmouseover]").length > 0`))
	must(t, err, "inspect %s", where)
	if xss {
		t.Errorf("%s: data reached the page as markup", where)
	}
}

func (b *browser) run(t testing.TB, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	must(t, chromedp.Do(ctx, actions...), "%s", what)
}

// eval evaluates js in the page and decodes its value into out (a
// pointer), or ignores it when out is nil.
func (b *browser) eval(t testing.TB, js string, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js))
	must(t, err, "evaluate %s", js)
	if out != nil {
		must(t, json.Unmarshal(v, out), "decode %s", v)
	}
}

// waitFor waits until the expression is true, across a navigation too
// (which ends the page's execution context under a running poll).
func (b *browser) waitFor(t testing.TB, js string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ctx, cancel := context.WithDeadline(b.ctx, deadline)
		err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(50*time.Millisecond)))
		cancel()
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "context") || time.Now().After(deadline) {
			t.Fatalf("wait for %s: %v", js, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	must(t, err, "screenshot %s", name)
	dir := os.Getenv("BROWSER_TEST_OUT")
	if dir == "" {
		dir = t.ArtifactDir()
	}
	must(t, os.MkdirAll(dir, 0o755), "screenshot directory")
	path := filepath.Join(dir, name)
	must(t, os.WriteFile(path, png, 0o644), "write %s", path)
	t.Logf("screenshot %s", path)
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// TestDashboard writes a dataset with hostile strings through the API of
// the single-node collector, then opens each page and compares what it
// shows with the dataset's figures.
func TestDashboard(t *testing.T) {
	base := startSingleNode(t)
	b := newBrowser(t)

	d := newDataset(time.Now().UTC())
	batch, later := d.writes()
	var res struct{ Accepted, Rejected int }
	call(t, "POST", base+"/events/batch", batch, 202, &res)
	if res.Accepted != len(batch) {
		t.Fatalf("batch: %+v", res)
	}
	for _, w := range later {
		call(t, w.method, base+w.path, w.body, 202, nil)
	}
	waitStored(t, base, d)

	t.Run("overview", func(t *testing.T) { testOverview(t, b, base, d) })
	t.Run("conversation", func(t *testing.T) { testConversation(t, b, base, d) })
	t.Run("event", func(t *testing.T) { testEvent(t, b, base, d) })
	t.Run("phone", func(t *testing.T) { testPhone(t, b, base, d) })
	t.Run("keyboard", func(t *testing.T) { testKeyboard(t, b, base, d) })
	t.Run("auto-refresh", func(t *testing.T) { testAutoRefresh(t, b, base, d) })
}

// testAutoRefresh writes an event while the overview is open and waits for
// the page to show it without a reload.
func testAutoRefresh(t *testing.T, b *browser, base string, d *dataset) {
	b.run(t, "open the overview", chromedp.Navigate(base+"/ui/?days=7"))
	b.waitFor(t, jsLoaded)
	var before []string
	b.eval(t, `[document.getElementById("total-events").textContent, document.getElementById("updated").textContent]`, &before)
	e := &stored{ID: "late-arrival", Conv: "conv-late", Name: "chat", Input: "i", Output: "o", Latency: 1, TS: d.now.Truncate(time.Millisecond)}
	d.events[e.ID] = e
	d.order = append(d.order, e.ID)
	call(t, "POST", base+"/event/", map[string]any{"id": e.ID, "conversation_id": e.Conv, "event_name": e.Name,
		"input": e.Input, "output": e.Output, "latency": e.Latency, "timestamp": e.TS.Format(time.RFC3339Nano)}, 202, nil)
	var want int
	for _, r := range d.dayRows(7, "") {
		var n int
		fmt.Sscan(r[1], &n)
		want += n
	}
	if fmt.Sprint(want) == before[0] {
		t.Fatalf("the new event does not change the total %s", before[0])
	}
	start := time.Now()
	b.waitFor(t, fmt.Sprintf(`document.getElementById("total-events").textContent === "%d"`, want))
	t.Logf("the overview showed the new event %s after it was accepted, without a reload", time.Since(start).Round(100*time.Millisecond))
	var rows [][]string
	b.eval(t, jsDays, &rows)
	equal(t, "days table after the refresh", rows, d.dayRows(7, ""))
	b.checkClean(t, "auto-refresh")
}

// waitStored waits until the API shows the dataset's last state.
func waitStored(t *testing.T, base string, d *dataset) {
	t.Helper()
	want := d.dayRows(7, "")
	deadline := time.Now().Add(60 * time.Second)
	for {
		var s struct {
			Data []struct {
				Date           string
				Events, Errors int
			}
			Ingest *struct {
				StoredLastMinute int `json:"stored_last_minute"`
			}
		}
		call(t, "GET", base+"/analytics/events?days=7", nil, 200, &s)
		var got [][]string
		for _, r := range s.Data {
			got = append(got, []string{r.Date, fmt.Sprint(r.Events), fmt.Sprint(r.Errors)})
		}
		// The freshness is read at most once a second: wait until it has
		// seen the writes too.
		if reflect.DeepEqual(got, want) && s.Ingest != nil && s.Ingest.StoredLastMinute > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dataset is not stored after 60s: %v, want %v", got, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

const (
	jsDays   = `[...document.querySelectorAll("#days-table tbody tr")].map(tr => [...tr.cells].map(c => c.textContent))`
	jsBars   = `[...document.querySelectorAll("#days-chart g.day title")].map(t => t.textContent)`
	jsP95    = `[...document.querySelectorAll("#p95-chart .hbar")].map(r => [r.querySelector(".hbar-label").textContent, r.querySelector(".hbar-value").dataset.value, r.querySelector(".hbar-value").textContent])`
	jsTop    = `[...document.querySelectorAll("#top-errors tbody tr")].map(tr => [...tr.cells].map(c => c.textContent))`
	jsLoaded = `document.getElementById("updated").textContent !== "–"`
)

func barTitles(rows [][]string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprintf("%s: %s events, %s errors", r[0], r[1], r[2])
	}
	return out
}

func testOverview(t *testing.T, b *browser, base string, d *dataset) {
	start := time.Now()
	b.run(t, "open /", chromedp.Navigate(base+"/"))
	b.waitFor(t, jsLoaded)
	loaded := time.Since(start)
	var location string
	b.eval(t, `location.pathname`, &location)
	equal(t, "/ leads to", location, "/ui/")
	var fcp, rendered float64
	b.eval(t, `performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? -1`, &fcp)
	b.eval(t, `performance.getEntriesByName("dashboard:rendered")[0]?.startTime ?? -1`, &rendered)
	t.Logf("overview: first contentful paint %.0f ms, data rendered %.0f ms after navigation start (%s wall, redirect included)", fcp, rendered, loaded.Round(time.Millisecond))
	if rendered < 0 {
		t.Error("the overview never marked its data rendered")
	}

	var days [][]string
	b.eval(t, jsDays, &days)
	want := d.dayRows(7, "")
	equal(t, "days table (all events, 7 days)", days, want)
	var titles []string
	b.eval(t, jsBars, &titles)
	equal(t, "chart bars", titles, barTitles(want))
	var totals []string
	b.eval(t, `[document.getElementById("total-events").textContent, document.getElementById("total-errors").textContent]`, &totals)
	var events, errs int
	for _, r := range want {
		var e, x int
		fmt.Sscan(r[1], &e)
		fmt.Sscan(r[2], &x)
		events, errs = events+e, errs+x
	}
	equal(t, "totals", totals, []string{fmt.Sprint(events), fmt.Sprint(errs)})
	var p95 [][]string
	b.eval(t, jsP95, &p95)
	equal(t, "p95 by event name", p95, d.p95Rows(7))
	var top [][]string
	b.eval(t, jsTop, &top)
	equal(t, "top error sessions", top, d.topErrorRows(7))
	var ingest, age string
	b.eval(t, `document.getElementById("ingest-rate").textContent`, &ingest)
	b.eval(t, `document.getElementById("data-age").textContent`, &age)
	var stored int
	if _, err := fmt.Sscanf(ingest, "%d (", &stored); err != nil || stored < 1 {
		t.Errorf("ingest %q: want the states stored in the last minute (> 0)", ingest)
	}
	if !strings.HasSuffix(age, " s") {
		t.Errorf("freshness %q: want seconds (the dataset was written just now)", age)
	}
	var names []string
	b.eval(t, `[...document.querySelectorAll("#event-name option")].map(o => o.textContent)`, &names)
	equal(t, "event name choices", names, append([]string{"All events"}, column(d.p95Rows(7), 0)...))
	b.checkClean(t, "overview")
	b.screenshot(t, "overview.png")

	// One event name (the hostile one) and a longer range.
	b.eval(t, fmt.Sprintf(`(() => { const s = document.getElementById("event-name"); s.value = %q; s.dispatchEvent(new Event("change")); return true })()`, hostileName), nil)
	b.waitFor(t, fmt.Sprintf(`new URLSearchParams(location.search).get("event_name") === %q && document.querySelectorAll("#days-table tbody tr").length === 7 && JSON.stringify(%s) === %q`,
		hostileName, jsDays, mustJSON(d.dayRows(7, hostileName))))
	b.eval(t, `(() => { const s = document.getElementById("range"); s.value = "30"; s.dispatchEvent(new Event("change")); return true })()`, nil)
	b.waitFor(t, `document.querySelectorAll("#days-table tbody tr").length === 30`)
	b.eval(t, jsDays, &days)
	equal(t, "days table (one name, 30 days)", days, d.dayRows(30, hostileName))
	b.eval(t, jsTop, &top)
	equal(t, "top error sessions (30 days)", top, d.topErrorRows(30))
	b.eval(t, jsP95, &p95)
	equal(t, "p95 by event name (30 days)", p95, d.p95Rows(30))
	// The choice is in the URL: a reload shows the same.
	b.run(t, "reload", chromedp.Reload())
	b.waitFor(t, jsLoaded+` && document.querySelectorAll("#days-table tbody tr").length === 30`)
	b.eval(t, jsDays, &days)
	equal(t, "days table after a reload", days, d.dayRows(30, hostileName))
	var selected string
	b.eval(t, `document.getElementById("event-name").value`, &selected)
	equal(t, "selected name after a reload", selected, hostileName)
	b.checkClean(t, "overview with a filter")
}

func column(rows [][]string, i int) []string {
	out := make([]string, len(rows))
	for j, r := range rows {
		out[j] = r[i]
	}
	return out
}

const jsTimeline = `[...document.querySelectorAll("#timeline li")].map(li => [li.dataset.id, li.querySelector("time").textContent,
  li.querySelector(".name").textContent, li.querySelector(".latency").textContent,
  li.querySelector(".badge-error")?.textContent ?? "", li.querySelector("pre.input").textContent, li.querySelector("pre.output").textContent])`

func timelineRows(events []*stored) [][]string {
	var out [][]string
	for _, e := range events {
		badge := ""
		if e.Error != "" {
			badge = "error: " + e.Error
		}
		out = append(out, []string{e.ID, e.TS.UTC().Format("2006-01-02T15:04:05.000Z"), e.Name, fmtMs(e.Latency), badge, e.Input, e.Output})
	}
	return out
}

func testConversation(t *testing.T, b *browser, base string, d *dataset) {
	all := d.conversation(hostileConv)
	b.run(t, "open the conversation", chromedp.Navigate(base+"/ui/conversation?id="+url.QueryEscape(hostileConv)))
	b.waitFor(t, `document.querySelectorAll("#timeline li").length > 0`)
	var rows [][]string
	b.eval(t, jsTimeline, &rows)
	equal(t, "first page", rows, timelineRows(all[:20]))
	var input string
	b.eval(t, `document.getElementById("conversation-id").value`, &input)
	equal(t, "search box", input, hostileConv)
	b.checkClean(t, "conversation")
	b.screenshot(t, "conversation.png")

	b.run(t, "next page", chromedp.Click(chromedp.CSS("#next-page")))
	b.waitFor(t, fmt.Sprintf(`document.querySelectorAll("#timeline li").length === %d`, len(all)-20))
	b.eval(t, jsTimeline, &rows)
	equal(t, "second page", rows, timelineRows(all[20:]))
	var state []any
	b.eval(t, `[document.getElementById("next-page").hidden, document.getElementById("first-page").hidden, document.getElementById("summary").textContent]`, &state)
	equal(t, "pager on the last page", state, []any{true, false, fmt.Sprintf("Events 21–%d of conversation %s", len(all), hostileConv)})
	b.checkClean(t, "conversation, page 2")
}

func testEvent(t *testing.T, b *browser, base string, d *dataset) {
	var e *stored
	for _, id := range d.order {
		if c := d.events[id]; !c.Deleted && c.Error == lateError {
			e = c
			break
		}
	}
	var api struct{ Version uint64 }
	call(t, "GET", base+"/event/"+url.PathEscape(e.ID), nil, 200, &api)
	b.run(t, "open the event", chromedp.Navigate(base+"/ui/event?id="+url.QueryEscape(e.ID)))
	b.waitFor(t, `!document.getElementById("detail").hidden`)
	var got []string
	b.eval(t, `["f-id", "f-conversation", "f-event-name", "f-timestamp", "f-version", "f-latency", "f-error", "f-input", "f-output"].map(id => document.getElementById(id).textContent)`, &got)
	equal(t, "event fields", got, []string{e.ID, e.Conv, e.Name, e.TS.UTC().Format("2006-01-02T15:04:05.000Z"),
		fmt.Sprint(api.Version), fmtMs(e.Latency), e.Error, e.Input, e.Output})
	var attrs [][]string
	b.eval(t, `[...document.querySelectorAll("#f-attributes tbody tr")].map(tr => [...tr.cells].map(c => c.textContent))`, &attrs)
	equal(t, "attributes", attrs, [][]string{{"model", e.Attrs["model"]}})
	// The link to the conversation leads to its page.
	var href string
	b.eval(t, `document.getElementById("f-conversation").href`, &href)
	equal(t, "conversation link", href, base+"/ui/conversation?id="+strings.ReplaceAll(url.QueryEscape(e.Conv), "+", "%20"))
	b.checkClean(t, "event")
	b.screenshot(t, "event.png")

	// A deleted event: the page says so and shows no stale data.
	var deleted string
	for _, id := range d.order {
		if d.events[id].Deleted {
			deleted = id
			break
		}
	}
	b.run(t, "open a deleted event", chromedp.Navigate(base+"/ui/event?id="+url.QueryEscape(deleted)))
	b.waitFor(t, `!document.getElementById("error").hidden`)
	var msg string
	b.eval(t, `document.getElementById("error").textContent`, &msg)
	if !strings.HasPrefix(msg, "404: ") {
		t.Errorf("deleted event: %q, want the API's 404", msg)
	}
	// The failed fetch is the one console error this page may have.
	b.mu.Lock()
	var rest []string
	for _, p := range b.problems {
		if !strings.Contains(p, "status of 404") {
			rest = append(rest, p)
		}
	}
	b.problems = rest
	b.mu.Unlock()
	b.checkClean(t, "deleted event")
}

func testPhone(t *testing.T, b *browser, base string, d *dataset) {
	b.run(t, "phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	t.Cleanup(func() { _ = chromedp.Do(b.ctx, chromedp.EmulateViewport(1280, 800)) })
	for _, p := range []struct{ path, ready, shot string }{
		{"/ui/?days=7", jsLoaded, "overview-phone.png"},
		{"/ui/conversation?id=" + url.QueryEscape(hostileConv), `document.querySelectorAll("#timeline li").length > 0`, "conversation-phone.png"},
	} {
		b.run(t, "open "+p.path, chromedp.Navigate(base+p.path))
		b.waitFor(t, p.ready)
		var widths []int
		b.eval(t, `[document.documentElement.scrollWidth, window.innerWidth]`, &widths)
		if widths[0] > widths[1] {
			t.Errorf("%s at phone width: the page is %d px wide in a %d px viewport", p.path, widths[0], widths[1])
		}
		if p.shot == "overview-phone.png" {
			var rows [][]string
			b.eval(t, jsDays, &rows)
			equal(t, "days table at phone width", rows, d.dayRows(7, ""))
		}
		b.checkClean(t, p.path+" at phone width")
		b.screenshot(t, p.shot)
	}
}

// testKeyboard reaches every control of the overview with Tab alone and
// follows a link of the top error sessions with Enter.
func testKeyboard(t *testing.T, b *browser, base string, d *dataset) {
	b.run(t, "open the overview", chromedp.Navigate(base+"/ui/?days=7"))
	b.waitFor(t, jsLoaded)
	var seen []string
	firstTop := d.topErrorRows(7)[0][0]
	for range 40 {
		b.run(t, "tab", chromedp.KeyEvent(kb.Tab))
		var focused string
		b.eval(t, `(() => { const e = document.activeElement; return e.id ? "#" + e.id : e.tagName.toLowerCase() + ":" + e.textContent })()`, &focused)
		seen = append(seen, focused)
		if focused == "a:"+firstTop {
			break
		}
	}
	for _, want := range []string{"a:Skip to content", "a:Conversations", "#event-name", "#range", "#auto-refresh", "#refresh", "a:" + firstTop} {
		found := false
		for _, s := range seen {
			found = found || s == want
		}
		if !found {
			t.Errorf("Tab never reached %q; focus went %q", want, seen)
		}
	}
	var visible bool
	b.eval(t, `(() => { const s = getComputedStyle(document.activeElement); return s.outlineStyle !== "none" && s.outlineWidth !== "0px" })()`, &visible)
	if !visible {
		t.Error("the focused link shows no focus outline")
	}
	b.run(t, "enter", chromedp.KeyEvent(kb.Enter))
	b.waitFor(t, `location.pathname.endsWith("/ui/conversation") && document.querySelectorAll("#timeline li").length > 0`)
	var conv string
	b.eval(t, `document.getElementById("conversation-id").value`, &conv)
	equal(t, "conversation opened from the keyboard", conv, firstTop)
	b.checkClean(t, "keyboard")
}

func mustJSON(v any) string {
	var b strings.Builder
	b.WriteString("[")
	for i, r := range v.([][]string) {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("[")
		for j, c := range r {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "%q", c)
		}
		b.WriteString("]")
	}
	b.WriteString("]")
	return b.String()
}
