package eventsqueryextension

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/otelcol-events/otelcol-events/internal/storage"
)

func TestDeadLettersRoute(t *testing.T) {
	t.Parallel()
	fake := &fakeReader{letters: []storage.DeadLetter{{
		StoredAt: time.Date(2026, 12, 3, 10, 0, 0, 5_000_000, time.UTC), ID: "it's", Version: 7,
		Payload: json.RawMessage(`{"op":"create","id":"it's"}`), Error: "Code: 395. DB::Exception: throwIf",
	}}}
	srv := newTestServer(t, fake, nil)
	tests := []struct {
		path   string
		status int
		want   string
		limit  int
	}{
		{"/dead-letters", 200, `{"dead_letters":[{"stored_at":"2026-12-03T10:00:00.005Z","id":"it's","version":7,"payload":{"op":"create","id":"it's"},"error":"Code: 395. DB::Exception: throwIf"}]}`, 100},
		{"/dead-letters?limit=3", 200, "", 3},
		{"/dead-letters?limit=0", 400, "", 0},
		{"/dead-letters?limit=1001", 400, "", 0},
	}
	for _, tt := range tests {
		a := do(t, srv, "GET", tt.path)
		if a.status != tt.status || tt.want != "" && a.body != tt.want {
			t.Errorf("GET %s: %d %s\nwant %d %s", tt.path, a.status, a.body, tt.status, tt.want)
		}
		if tt.status != 200 {
			if code, _ := errorCode(t, a); code != "invalid_parameter" {
				t.Errorf("GET %s: code %q", tt.path, code)
			}
			continue
		}
		if call, args := fake.lastArgs(t); call != "DeadLetters" || args[0] != tt.limit {
			t.Errorf("GET %s called %s%v, want DeadLetters(%d)", tt.path, call, args, tt.limit)
		}
	}
	if a := do(t, srv, "POST", "/dead-letters"); a.status != 405 {
		t.Errorf("POST /dead-letters: %d", a.status)
	}
}
