package eventsreceiver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
)

// BenchmarkReceiverVsBareHTTP measures, in the same run and with the same
// load generator, the events receiver with a no-op next consumer and its
// ceiling: a bare net/http handler that decodes the same JSON into a struct
// and answers 202. It reports both throughputs and their ratio.
//
//	go test -run '^$' -bench ReceiverVsBareHTTP -benchtime 20000x ./receiver/eventsreceiver
func BenchmarkReceiverVsBareHTTP(b *testing.B) {
	body := []byte(validEvent)

	bareLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	bare := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			ConversationID string  `json:"conversation_id"`
			EventName      string  `json:"event_name"`
			Input          string  `json:"input"`
			Output         string  `json:"output"`
			Latency        float64 `json:"latency"`
			Error          string  `json:"error"`
		}
		data, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(data, &ev); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"id":"0193a0b0-0000-7000-8000-000000000000"}`))
	})}
	go func() { _ = bare.Serve(bareLn) }()
	defer bare.Close()

	addr := freePort(b)
	cfg := createDefaultConfig().(*Config)
	cfg.ServerConfig.NetAddr.Endpoint = addr
	r, err := newEventsReceiver(cfg, receiverSettings(), consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = r.Shutdown(context.Background()) }()

	const concurrency = 32
	load := func(url string, n int) float64 {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(n) {
					resp, err := client.Post(url, "application/json", bytes.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusAccepted {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			}()
		}
		wg.Wait()
		return float64(n) / time.Since(start).Seconds()
	}
	b.ReportAllocs()
	b.ResetTimer()
	// Alternate the two servers so that machine noise hits both alike.
	var receiverRate, bareRate float64
	half := max(1, b.N/2)
	bareRate += load("http://"+bareLn.Addr().String()+"/event/", half)
	receiverRate += load("http://"+addr+"/event/", half)
	bareRate += load("http://"+bareLn.Addr().String()+"/event/", half)
	receiverRate += load("http://"+addr+"/event/", half)
	b.ReportMetric(receiverRate/2, "receiver_req/s")
	b.ReportMetric(bareRate/2, "bare_req/s")
	b.ReportMetric(receiverRate/bareRate, "ratio")
}
