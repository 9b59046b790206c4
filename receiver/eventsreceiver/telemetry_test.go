package eventsreceiver

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
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
