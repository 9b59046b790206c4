package eventsreceiver

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/otelcol-events/otelcol-events/internal/metadatatest"
)

// TestHTTPTelemetry: otelhttp instruments the requests only when
// http_telemetry is on.
func TestHTTPTelemetry(t *testing.T) {
	for _, on := range []bool{false, true} {
		recorder := tracetest.NewSpanRecorder()
		set := receivertest.NewNopSettings(componentType)
		set.TracerProvider = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
		addr := freePort(t)
		cfg := createDefaultConfig().(*Config)
		cfg.ServerConfig.NetAddr.Endpoint = addr
		cfg.HTTPTelemetry = on
		r, err := newEventsReceiver(cfg, set, new(consumertest.LogsSink))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(context.Background(), componenttest.NewNopHost()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post("http://"+addr+"/event/", "application/json", strings.NewReader(validEvent))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if err := r.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("http_telemetry %v: POST answered %d", on, resp.StatusCode)
		}
		// The receiver's own obsreport span is always there; otelhttp's
		// is named after the method.
		httpSpans := 0
		for _, s := range recorder.Ended() {
			if s.Name() == http.MethodPost {
				httpSpans++
			}
		}
		if (httpSpans > 0) != on {
			t.Errorf("http_telemetry %v: %d otelhttp spans", on, httpSpans)
		}
	}
}

// TestRefusedOperations: each valid operation the pipeline does not take is
// counted once, by reason, and the metric is the one metadata.yaml declares.
func TestRefusedOperations(t *testing.T) {
	tests := []struct {
		err    error
		status int
		reason string
	}{
		{exporterhelper.ErrQueueIsFull, http.StatusTooManyRequests, "queue_full"},
		{consumererror.NewPermanent(errors.New("bad")), http.StatusInternalServerError, "rejected"},
		{errors.New("broker down"), http.StatusServiceUnavailable, "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			tel := componenttest.NewTelemetry()
			t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
			set := receivertest.NewNopSettings(componentType)
			set.TelemetrySettings = tel.NewTelemetrySettings()
			addr := freePort(t)
			cfg := createDefaultConfig().(*Config)
			cfg.ServerConfig.NetAddr.Endpoint = addr
			r, err := newEventsReceiver(cfg, set, consumertest.NewErr(tt.err))
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Start(context.Background(), componenttest.NewNopHost()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
			post := func(path, body string) int {
				resp, err := http.Post("http://"+addr+path, "application/json", strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if got := post("/event/", validEvent); got != tt.status {
				t.Fatalf("single write: %d, want %d", got, tt.status)
			}
			// A batch of two valid operations and an invalid one: two refused.
			if got := post("/events/batch", "["+validEvent+","+validEvent+`,{"event_name":"x"}]`); got != tt.status {
				t.Fatalf("batch: %d, want %d", got, tt.status)
			}
			metrics := metadatatest.Collect(t, tel, "github.com/otelcol-events/otelcol-events/receiver/eventsreceiver")
			metadatatest.CheckMetrics(t, "metadata.yaml", metrics)
			sum := metrics[0].Data.(metricdata.Sum[int64])
			got := map[string]int64{}
			for _, dp := range sum.DataPoints {
				v, _ := dp.Attributes.Value("reason")
				got[v.AsString()] += dp.Value
			}
			if len(got) != 1 || got[tt.reason] != 3 {
				t.Errorf("refused operations %v, want 3 %s", got, tt.reason)
			}
		})
	}
}
