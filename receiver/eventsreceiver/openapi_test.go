package eventsreceiver

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/otelcol-events/otelcol-events/docs"
	"github.com/otelcol-events/otelcol-events/internal/event"
)

// TestTimestampPatternMatchesParser holds docs/openapi.yaml's pattern for an
// RFC 3339 timestamp to what the receiver parses: every day of the range,
// the days that do not exist, and the forms RFC 3339 allows but the parser
// does not.
func TestTimestampPatternMatchesParser(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData(docs.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	pattern := regexp.MustCompile(doc.Components.Schemas["Timestamp"].Value.OneOf[0].Value.Pattern)
	excluded := regexp.MustCompile(doc.Components.Schemas["Timestamp"].Value.OneOf[0].Value.Not.Value.Pattern)
	inSpec := func(s string) bool { return pattern.MatchString(s) && !excluded.MatchString(s) }
	parses := func(s string) bool {
		ts, err := parseTimestamp(s)
		return err == nil && ts.After(time.UnixMilli(0)) && !ts.After(time.Date(2105, 12, 31, 23, 59, 59, 999_000_000, time.UTC))
	}
	// Every day of the range, at times and offsets that keep it inside.
	for d := time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC); d.Year() < 2106; d = d.AddDate(0, 0, 1) {
		last := d.Year() == 2105 && d.Month() == 12 && d.Day() == 31
		for _, clock := range []string{"T12:00:00Z", "T00:00:00.5+01:00", "T23:59:59.123456789-11:30"} {
			s := d.Format("2006-01-02") + clock
			if last {
				if inSpec(s) {
					t.Errorf("%s: the pattern should leave out the last day", s)
				}
				continue
			}
			if !inSpec(s) || !parses(s) {
				t.Errorf("%s: in the description %v, parses %v", s, inSpec(s), parses(s))
			}
		}
	}
	for _, s := range []string{
		"2023-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2024-02-30T00:00:00Z", "2024-04-31T00:00:00Z",
		"2024-13-01T00:00:00Z", "2024-01-01t00:00:00Z", "2024-01-01T00:00:00z", "2024-01-01T24:00:00Z",
		"2024-01-01T23:59:60Z", "2024-01-01T00:00:00", "2024-01-01 00:00:00Z", "1969-12-31T23:59:59Z",
		"2106-01-01T00:00:00Z", "2024-01-01T00:00:00+24:00", "+2024-01-01T00:00:00Z",
	} {
		if inSpec(s) {
			t.Errorf("%s: the description allows a timestamp the receiver refuses (parses: %v)", s, parses(s))
		}
	}
	for _, leap := range []int{1972, 1996, 2000, 2024, 2104} {
		if s := fmt.Sprintf("%d-02-29T00:00:00Z", leap); !inSpec(s) || !parses(s) {
			t.Errorf("%s: in the description %v, parses %v", s, inSpec(s), parses(s))
		}
	}
}

// TestServesOpenAPI: the API port answers the description even without the
// query extension, and only to GET and HEAD.
func TestServesOpenAPI(t *testing.T) {
	t.Parallel()
	r := newTestReceiver(t, nil)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.yaml", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/yaml" || !bytes.Equal(rec.Body.Bytes(), docs.OpenAPI) {
		t.Fatalf("GET: %d %q, %d bytes", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
	}
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("POST", "/openapi.yaml", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") == "" {
		t.Fatalf("POST: %d %v", rec.Code, rec.Header())
	}
}

// TestWriteSchemasListTheBodyKeys holds the write schemas of
// docs/openapi.yaml to the keys the receiver decodes: a field the receiver
// takes is in the description, and one it refuses (cost, unknown_field) is
// not.
func TestWriteSchemasListTheBodyKeys(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData(docs.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	without := func(drop ...string) []string {
		var keys []string
		for k := range bodyKeys {
			if !slices.Contains(drop, k) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		return keys
	}
	for _, tc := range []struct {
		schema string
		want   []string
	}{
		{"CreateEvent", without("op")},
		{"BatchCreate", without()},
		// An update cannot change conversation_id or timestamp
		// (immutable_field); PUT takes the id from the path.
		{"UpdateFields", without("op", "id", "conversation_id", "timestamp")},
		{"BatchUpdate", without("conversation_id", "timestamp")},
	} {
		got := slices.Sorted(maps.Keys(doc.Components.Schemas[tc.schema].Value.Properties))
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: properties %v, the receiver decodes %v", tc.schema, got, tc.want)
		}
	}
}

// TestTokenCountsAreSchemaIntegers: a token count is an integer as
// docs/openapi.yaml (JSON Schema) means it, a number whose value is whole,
// however it is written; schemathesis sent 731686.0 and got a 400.
func TestTokenCountsAreSchemaIntegers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		count   string
		want    uint64
		wantErr string // the message of the 400 invalid_field
	}{
		{"3", 3, ""},
		{"3.0", 3, ""},
		{"3e0", 3, ""},
		{"731686.0", 731686, ""},
		{"0.0", 0, ""},
		{"-0", 0, ""},
		{"9007199254740992", 1 << 53, ""},
		{"18446744073709551615", math.MaxUint64, ""}, // Validate bounds it (event.MaxTokens)
		{"1.5", 0, "input_tokens: must be a non-negative integer, got number 1.5"},
		{"-1", 0, "input_tokens: must be a non-negative integer, got number -1"},
		{"-1.0", 0, "input_tokens: must be a non-negative integer, got number -1.0"},
		{"1e20", 0, "input_tokens: must be a non-negative integer, got number 1e20"},
		{"18446744073709551616", 0, "input_tokens: must be a non-negative integer, got number 18446744073709551616"},
		{`"3"`, 0, "input_tokens: must be a non-negative integer, got string"},
		{"true", 0, "input_tokens: must be a non-negative integer, got bool"},
	}
	for _, tt := range tests {
		b, rerr := decodeBody([]byte(`{"conversation_id":"c","event_name":"e","input_tokens":` + tt.count + `}`))
		switch {
		case tt.wantErr != "":
			if rerr == nil || rerr.code != event.CodeInvalidField || rerr.message != tt.wantErr {
				t.Errorf("%s: %+v, want invalid_field %q", tt.count, rerr, tt.wantErr)
			}
		case rerr != nil:
			t.Errorf("%s: %+v, want the count %d", tt.count, rerr, tt.want)
		case b.InputTokens == nil || uint64(*b.InputTokens) != tt.want:
			t.Errorf("%s: decoded %v, want %d", tt.count, b.InputTokens, tt.want)
		}
	}
	// A null is the field left out.
	if b, rerr := decodeBody([]byte(`{"conversation_id":"c","event_name":"e","input_tokens":null}`)); rerr != nil || b.InputTokens != nil {
		t.Errorf("null: %+v %v, want absent", rerr, b)
	}
}
