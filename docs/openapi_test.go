package docs

import (
	"context"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPIIsValid loads docs/openapi.yaml as the e2e suite's validator
// does and checks it against the OpenAPI 3.1 rules.
func TestOpenAPIIsValid(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi: %s, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The LLM call fields: every write takes them (an update with only one
	// of them is an update), reads answer them and cost, which no write takes.
	genai := []string{"model", "provider", "operation", "input_tokens", "output_tokens", "cache_read_tokens",
		"cache_creation_tokens", "reasoning_tokens", "time_to_first_token", "finish_reason", "trace_id", "span_id"}
	schemas := doc.Components.Schemas
	for _, name := range []string{"CreateEvent", "UpdateFields", "BatchCreate", "BatchUpdate"} {
		s := schemas[name].Value
		for _, field := range genai {
			if p := s.Properties[field]; p == nil || p.Value.Extensions["x-since"] != nil {
				t.Errorf("%s.%s: not accepted", name, field)
			}
		}
		if s.Properties["cost"] != nil {
			t.Errorf("%s.cost: a write cannot set it", name)
		}
		if name == "UpdateFields" || name == "BatchUpdate" {
			for _, field := range genai {
				if !slices.ContainsFunc(s.AnyOf, func(alt *openapi3.SchemaRef) bool { return slices.Equal(alt.Value.Required, []string{field}) }) {
					t.Errorf("%s: no anyOf alternative with only %s", name, field)
				}
			}
		}
	}
	for _, field := range append(genai, "cost") {
		if p := schemas["Event"].Value.Properties[field]; p == nil || p.Value.Extensions["x-since"] != nil {
			t.Errorf("Event.%s: not answered", field)
		}
	}
	if !schemas["Event"].Value.Properties["cost"].Value.ReadOnly {
		t.Error("Event.cost: not read-only")
	}
	for _, path := range []string{"/event/", "/event", "/event/{id}", "/events/batch", "/events/conversation/{conversation_id}",
		"/analytics/errors", "/analytics/events", "/analytics/latency", "/analytics/sessions/top-errors",
		"/analytics/models/usage", "/analytics/models/latency", "/analytics/conversations/top-cost", "/dead-letters",
		"/health", "/openapi.yaml", "/", "/ui", "/ui/", "/ui/conversation", "/ui/event"} {
		if doc.Paths.Find(path) == nil {
			t.Errorf("no path %s", path)
		}
	}
}
