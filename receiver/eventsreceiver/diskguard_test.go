package eventsreceiver

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
)

// TestMinFreeSpaceRefusesWrites: while the watched file system has less free
// space than min_free_space, writes get 503 with Retry-After and nothing
// reaches the pipeline, the receiver reports a recoverable error (health
// degraded); with room again, writes go and it reports OK. The free space is
// read at most every diskCheckInterval.
func TestMinFreeSpaceRefusesWrites(t *testing.T) {
	t.Parallel()
	sink := new(consumertest.LogsSink)
	r := newTestReceiver(t, sink, func(c *Config) {
		c.MinFreeSpace = MinFreeSpaceConfig{Directory: "/data", Bytes: 100}
	})
	host := &statusHost{Host: componenttest.NewNopHost()}
	r.host = host
	clock := time.Unix(1000, 0)
	free, reads := uint64(10), 0
	r.disk.now = func() time.Time { return clock }
	r.disk.free = func(dir string) (uint64, error) {
		if dir != "/data" {
			t.Errorf("statfs of %q", dir)
		}
		reads++
		return free, nil
	}

	for _, req := range []struct{ method, path, body string }{
		{"POST", "/event/", validEvent},
		{"PUT", "/event/x", `{"error":"e"}`},
		{"POST", "/events/batch", "[" + validEvent + "]"},
	} {
		resp := do(t, r, req.method, req.path, "application/json", []byte(req.body))
		msg, _ := resp.body["error"].(map[string]any)["message"].(string)
		if resp.status != http.StatusServiceUnavailable || resp.errorCode() != "unavailable" ||
			resp.header.Get("Retry-After") == "" || !strings.Contains(msg, "min_free_space") {
			t.Fatalf("%s %s with the disk nearly full: %d %v", req.method, req.path, resp.status, resp.body)
		}
	}
	if reads != 1 {
		t.Fatalf("%d reads of the free space within one interval, want 1", reads)
	}
	if n := sink.LogRecordCount(); n != 0 {
		t.Fatalf("%d records reached the pipeline", n)
	}

	free = 1000
	if resp := do(t, r, "POST", "/event/", "application/json", []byte(validEvent)); resp.status != http.StatusServiceUnavailable {
		t.Fatalf("within the interval the last reading holds: %d", resp.status)
	}
	clock = clock.Add(diskCheckInterval)
	if resp := do(t, r, "POST", "/event/", "application/json", []byte(validEvent)); resp.status != http.StatusAccepted {
		t.Fatalf("with room again: %d %v", resp.status, resp.body)
	}
	got := host.statuses()
	if len(got) != 2 || got[0] != componentstatus.StatusRecoverableError || got[1] != componentstatus.StatusOK {
		t.Fatalf("statuses %v", got)
	}
}

// TestMinFreeSpaceIgnoresUnreadableFileSystem: a failed statfs lets writes
// through (the queue reports its own failures).
func TestMinFreeSpaceIgnoresUnreadableFileSystem(t *testing.T) {
	t.Parallel()
	r := newTestReceiver(t, new(consumertest.LogsSink), func(c *Config) {
		c.MinFreeSpace = MinFreeSpaceConfig{Directory: "/nowhere", Bytes: 100}
	})
	r.disk.free = func(string) (uint64, error) { return 0, errors.New("no such file or directory") }
	if resp := do(t, r, "POST", "/event/", "application/json", []byte(validEvent)); resp.status != http.StatusAccepted {
		t.Fatalf("%d %v", resp.status, resp.body)
	}
}

// TestFreeBytesReadsTheFileSystem: the real statfs gives a positive figure
// for a directory that exists.
func TestFreeBytesReadsTheFileSystem(t *testing.T) {
	t.Parallel()
	n, err := freeBytes(t.TempDir())
	if err != nil || n == 0 {
		t.Fatalf("freeBytes = %d, %v", n, err)
	}
}
