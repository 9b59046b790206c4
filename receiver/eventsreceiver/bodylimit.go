package eventsreceiver // import "github.com/otelcol-events/otelcol-events/receiver/eventsreceiver"

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/otelcol-events/otelcol-events/internal/httpapi"
)

// What the receiver reads and discards of a body it refuses (too large, or
// refused before it was read): most clients (curl without Expect, Python's
// http.client and requests, ...) send the whole body before they read the
// answer, and a connection closed under a body still being sent reaches them
// as a reset or a broken pipe instead of the 413. Past these bounds the
// connection is closed all the same.
const (
	maxDrainBytes = 128 << 20
	maxDrainTime  = 10 * time.Second
)

// bodyLimit wraps the whole HTTP server of the receiver, outside confighttp's
// handlers: it refuses a declared Content-Length over the limit before
// anything reads the body (with `Expect: 100-continue` the client then never
// sends it), and after a refusal drains the rest of a body that was not read
// to its end, so that the client reads the answer.
type bodyLimit struct {
	next  http.Handler
	limit int64
}

func (b *bodyLimit) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rc := http.NewResponseController(w)
	// The answer may be sent before the body is read to its end (a refusal);
	// drain reads the rest after it.
	_ = rc.EnableFullDuplex()
	if req.ContentLength > b.limit {
		w.Header().Set("Connection", "close")
		httpapi.WriteError(w, http.StatusRequestEntityTooLarge, httpapi.CodeTooLarge,
			fmt.Sprintf("the body (Content-Length %d) exceeds %d bytes", req.ContentLength, b.limit))
		if !expectsContinue(req) {
			drain(rc, req.Body)
		}
		return
	}
	body := &trackedBody{ReadCloser: req.Body}
	req.Body = body
	b.next.ServeHTTP(w, req)
	if body.eof || req.ContentLength == 0 || (expectsContinue(req) && body.read == 0) {
		// Read whole, empty, or never asked for: nothing is on its way.
		return
	}
	// A refusal before the body's end (too large once decoded, or refused
	// before it was read): a body over the limit has made the server close
	// the connection after this answer (http.MaxBytesReader), a smaller one
	// leaves it open once drained.
	drain(rc, body.ReadCloser)
}

// drain sends the answer written so far, then reads and discards the body up
// to the bounds.
func drain(rc *http.ResponseController, body io.Reader) {
	_ = rc.Flush()
	_ = rc.SetReadDeadline(time.Now().Add(maxDrainTime))
	_, _ = io.CopyN(io.Discard, body, maxDrainBytes)
}

func expectsContinue(req *http.Request) bool {
	return strings.EqualFold(req.Header.Get("Expect"), "100-continue")
}

// trackedBody tells whether a request body was read to its end.
type trackedBody struct {
	io.ReadCloser
	read int64
	eof  bool
}

func (t *trackedBody) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	t.read += int64(n)
	if err == io.EOF {
		t.eof = true
	}
	return n, err
}
