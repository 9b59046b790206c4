package eventsreceiver

import "testing"

// TestScanBodyTakesCommonBodies keeps the common bodies on the fast path
// (FuzzScanBody checks that its answers are encoding/json's).
func TestScanBodyTakesCommonBodies(t *testing.T) {
	t.Parallel()
	for _, data := range []string{
		validEvent,
		`{}`,
		` {"op":"update", "id":"x", "error":null} ` + "\n",
		`{"id":"x","conversation_id":"c","event_name":"n","timestamp":1767323045678,"attributes":{"a":"b","c":""}}`,
		`{"conversation_id":"c","event_name":"n","timestamp":"2026-01-02T03:04:05.123+02:00","latency":-1.5e-3}`,
		`{"input":"line\nquote\" slash\/ \u00e9 \ud83d\ude00 caf` + "\u00e9" + `"}`,
	} {
		if _, ok := scanBody([]byte(data)); !ok {
			t.Errorf("scanBody left %s to encoding/json", data)
		}
	}
}
