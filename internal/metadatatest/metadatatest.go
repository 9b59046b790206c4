// Package metadatatest checks a component's own metrics against the
// telemetry its metadata.yaml declares (the format of the collector's
// mdatagen): the names, descriptions, units, kinds and histogram buckets
// must be the same, so that metadata.yaml stays the one description of them.
package metadatatest // import "github.com/otelcol-events/otelcol-events/internal/metadatatest"

import (
	"context"
	"os"
	"slices"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.yaml.in/yaml/v3"
)

type metadata struct {
	Telemetry struct {
		Metrics map[string]declared `yaml:"metrics"`
	} `yaml:"telemetry"`
}

type declared struct {
	Enabled     bool   `yaml:"enabled"`
	Description string `yaml:"description"`
	Unit        string `yaml:"unit"`
	Sum         *struct {
		ValueType string `yaml:"value_type"`
		Monotonic bool   `yaml:"monotonic"`
	} `yaml:"sum"`
	Histogram *struct {
		ValueType        string    `yaml:"value_type"`
		BucketBoundaries []float64 `yaml:"bucket_boundaries"`
	} `yaml:"histogram"`
}

// CheckMetrics fails t unless got, the metrics a component produced with
// every instrument recorded at least once, are exactly those metadata.yaml
// (at path) declares.
func CheckMetrics(t *testing.T, path string, got []metricdata.Metrics) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var md metadata
	if err := yaml.Unmarshal(data, &md); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	seen := map[string]bool{}
	for _, m := range got {
		seen[m.Name] = true
		d, ok := md.Telemetry.Metrics[m.Name]
		if !ok {
			t.Errorf("metric %s is not declared in %s", m.Name, path)
			continue
		}
		if m.Description != d.Description || m.Unit != d.Unit {
			t.Errorf("metric %s: description %q unit %q; %s says %q and %q", m.Name, m.Description, m.Unit, path, d.Description, d.Unit)
		}
		kind, bounds := kindOf(m.Data)
		want := "sum/" + valueType(d.Sum)
		if d.Histogram != nil {
			want = "histogram/" + d.Histogram.ValueType
		}
		if kind != want {
			t.Errorf("metric %s is a %s; %s declares a %s", m.Name, kind, path, want)
		}
		if d.Histogram != nil && len(d.Histogram.BucketBoundaries) > 0 && !slices.Equal(bounds, d.Histogram.BucketBoundaries) {
			t.Errorf("metric %s: buckets %v; %s declares %v", m.Name, bounds, path, d.Histogram.BucketBoundaries)
		}
	}
	for name, d := range md.Telemetry.Metrics {
		if d.Enabled && !seen[name] {
			t.Errorf("%s declares %s, which the component did not produce", path, name)
		}
	}
}

// CheckTelemetry is CheckMetrics over the metrics tel has collected in
// scope ("": all).
func CheckTelemetry(t *testing.T, path string, tel *componenttest.Telemetry, scope string) {
	t.Helper()
	CheckMetrics(t, path, Collect(t, tel, scope))
}

// Collect returns the metrics tel has collected in scope ("": every scope,
// e.g. a component's and its helper's).
func Collect(t *testing.T, tel *componenttest.Telemetry, scope string) []metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.Reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var out []metricdata.Metrics
	for _, sm := range rm.ScopeMetrics {
		if scope == "" || sm.Scope.Name == scope {
			out = append(out, sm.Metrics...)
		}
	}
	return out
}

func valueType(s *struct {
	ValueType string `yaml:"value_type"`
	Monotonic bool   `yaml:"monotonic"`
}) string {
	if s == nil {
		return "?"
	}
	return s.ValueType
}

func kindOf(data metricdata.Aggregation) (string, []float64) {
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		return "sum/int", nil
	case metricdata.Sum[float64]:
		return "sum/double", nil
	case metricdata.Histogram[int64]:
		if len(d.DataPoints) > 0 {
			return "histogram/int", d.DataPoints[0].Bounds
		}
		return "histogram/int", nil
	case metricdata.Histogram[float64]:
		if len(d.DataPoints) > 0 {
			return "histogram/double", d.DataPoints[0].Bounds
		}
		return "histogram/double", nil
	default:
		return "other", nil
	}
}
