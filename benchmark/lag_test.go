package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestReadLag sums the kafka receiver's lag over the partitions and waits
// until it is 0.
func TestReadLag(t *testing.T) {
	var scrapes atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		lag := "4"
		if scrapes.Add(1) > 2 {
			lag = "0"
		}
		_, _ = w.Write([]byte("# HELP otelcol_kafka_receiver_offset_lag lag\n" +
			`otelcol_kafka_receiver_offset_lag{partition="0",topic="t"} ` + lag + "\n" +
			`otelcol_kafka_receiver_offset_lag{partition="1",topic="t"} 0` + "\n" +
			`otelcol_kafka_receiver_offset_lag_other{partition="1"} 9` + "\n"))
	}))
	defer srv.Close()
	l := readLag(context.Background(), srv.URL, "batch", 10*time.Second)
	if !l.AtZero || l.Readings != 3 {
		t.Fatalf("reading %+v, want 0 on the third scrape", l)
	}
	if lag, found, err := scrapeLag(context.Background(), srv.Client(), srv.URL); err != nil || !found || lag != 0 {
		t.Fatalf("scrape: %v %v %v", lag, found, err)
	}

	none := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer none.Close()
	if l := readLag(context.Background(), none.URL, "batch", 300*time.Millisecond); l.AtZero || l.Problem == "" {
		t.Fatalf("a collector without the metric read as %+v", l)
	}
}
