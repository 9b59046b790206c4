package eventsreceiver

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
)

// TestTooLargeBodyReachesTheClient sends bodies over the limit from a raw
// client that writes the whole request before it reads the answer, as curl
// without Expect and most HTTP libraries do: it must read the 413 in the
// API's JSON shape, not a reset or a broken pipe.
func TestTooLargeBodyReachesTheClient(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	r := newTestReceiver(t, new(consumertest.LogsSink), func(c *Config) { c.ServerConfig.MaxRequestBodySize = limit })
	// http.MaxBytesHandler is what confighttp puts in front of the receiver.
	srv := httptest.NewServer(&bodyLimit{next: http.MaxBytesHandler(r, limit), limit: limit})
	t.Cleanup(srv.Close)

	const size = 64 << 20
	tests := []struct {
		name    string
		header  string
		body    func(w io.Writer) error
		sendAll bool
	}{
		{
			name:    "Content-Length without Expect",
			header:  fmt.Sprintf("Content-Length: %d\r\n", size),
			body:    func(w io.Writer) error { return writeZeros(w, size) },
			sendAll: true,
		},
		{
			name:   "chunked",
			header: "Transfer-Encoding: chunked\r\n",
			body: func(w io.Writer) error {
				chunk := strings.Repeat(" ", 1<<20)
				for range size / len(chunk) {
					if _, err := fmt.Fprintf(w, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
						return err
					}
				}
				_, err := io.WriteString(w, "0\r\n\r\n")
				return err
			},
			sendAll: true,
		},
		{
			name:   "Expect: 100-continue",
			header: fmt.Sprintf("Content-Length: %d\r\nExpect: 100-continue\r\n", size),
			body:   func(io.Writer) error { return nil },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
			w := bufio.NewWriterSize(conn, 64<<10)
			fmt.Fprintf(w, "POST /events/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%s\r\n", tt.header)
			if err := tt.body(w); err != nil {
				t.Fatalf("sending the body: %v (the server closed the connection under it)", err)
			}
			if err := w.Flush(); err != nil {
				t.Fatalf("sending the body: %v (the server closed the connection under it)", err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("reading the answer: %v", err)
			}
			defer resp.Body.Close()
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("%d, body not JSON: %v", resp.StatusCode, err)
			}
			if resp.StatusCode != http.StatusRequestEntityTooLarge || body.Error.Code != "too_large" || body.Error.Message == "" {
				t.Fatalf("got %d %+v, want 413 too_large", resp.StatusCode, body)
			}
			if !resp.Close {
				t.Fatal("the connection stays open after a refused body: want Connection: close")
			}
		})
	}
}

func writeZeros(w io.Writer, n int) error {
	buf := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, len(buf))
		if _, err := w.Write(buf[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// TestRefusedBodyKeepsTheConnection: a body within the limit that the
// receiver refuses without reading (415 here, 401 alike) is drained, so the
// client reads the answer and the connection serves the next request.
func TestRefusedBodyKeepsTheConnection(t *testing.T) {
	t.Parallel()
	const limit = 8 << 20
	r := newTestReceiver(t, new(consumertest.LogsSink), func(c *Config) { c.ServerConfig.MaxRequestBodySize = limit })
	srv := httptest.NewServer(&bodyLimit{next: http.MaxBytesHandler(r, limit), limit: limit})
	t.Cleanup(srv.Close)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	const size = 4 << 20
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "POST /event/ HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", size)
	if err := writeZeros(w, size); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
	if err := w.Flush(); err != nil {
		t.Fatalf("sending: %v", err)
	}
	rd := bufio.NewReader(conn)
	for _, want := range []int{http.StatusUnsupportedMediaType, http.StatusNotFound} {
		resp, err := http.ReadResponse(rd, nil)
		if err != nil {
			t.Fatalf("reading the answer %d: %v", want, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("got %d, want %d", resp.StatusCode, want)
		}
	}
}
