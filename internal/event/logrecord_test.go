package event

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

func TestLogRecordRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []Operation{
		{Op: OpCreate, ID: "a", Version: 7, Set: AllFields, Event: Event{
			ConversationID: "c", Name: "n", Timestamp: t0, Input: "i", Output: "o", LatencyMs: 1.5, Error: "e",
			Attributes: []Attribute{{Key: "k1", Value: "v1"}, {Key: "k2", Value: "v2"}},
		}},
		{Op: OpUpdate, ID: "a", Version: 8, Set: Fields(0).With(FieldError).With(FieldLatency), Event: Event{Error: "timeout", LatencyMs: 5000}},
		{Op: OpCreate, ID: "g", Version: 10, Set: AllFields, Event: Event{
			ConversationID: "c", Name: "chat", Timestamp: t0, LatencyMs: 812.5,
			Generation: Generation{
				Model: "gpt-4o-mini", Provider: "openai", Operation: "chat", InputTokens: 11, OutputTokens: 7,
				CacheReadTokens: 3, CacheCreationTokens: 2, ReasoningTokens: 1, TimeToFirstTokenMs: 120.25,
				FinishReason: "stop", TraceID: "0af7651916cd43dd8448eb211c80319c", SpanID: "b7ad6b7169203331",
			},
		}},
		// An update that clears a token count sends the zero.
		{Op: OpUpdate, ID: "g", Version: 11, Set: Fields(0).With(FieldOutputTokens).With(FieldModel), Event: Event{}},
		{Op: OpDelete, ID: "a", Version: 9},
	}
	for _, want := range tests {
		t.Run(want.Op.String(), func(t *testing.T) {
			t.Parallel()
			lr := plog.NewLogRecord()
			want.MarshalLogRecord(lr, time.Now())
			got, err := UnmarshalLogRecord(lr)
			if err != nil {
				t.Fatal(err)
			}
			if got.Op != want.Op || got.ID != want.ID || got.Version != want.Version || got.Set != want.Set || !got.SameRow(&want.Event) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestUnmarshalLogRecordErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		build func(pcommon.Map)
	}{
		{"not canonical", func(m pcommon.Map) { m.PutStr("foo", "bar") }},
		{"unknown op", func(m pcommon.Map) { m.PutStr(AttrOp, "upsert") }},
		{"missing id", func(m pcommon.Map) { m.PutStr(AttrOp, "delete"); m.PutInt(AttrVersion, 1) }},
		{"missing version", func(m pcommon.Map) { m.PutStr(AttrOp, "delete"); m.PutStr(AttrID, "a") }},
		{"wrong type", func(m pcommon.Map) {
			m.PutStr(AttrOp, "update")
			m.PutStr(AttrID, "a")
			m.PutInt(AttrVersion, 1)
			m.PutStr(AttrLatency, "fast")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lr := plog.NewLogRecord()
			tt.build(lr.Attributes())
			if _, err := UnmarshalLogRecord(lr); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	l := DefaultLimits()
	long := string(make([]byte, 129))
	tests := []struct {
		name     string
		op       Operation
		wantCode string
	}{
		{"valid create", create("a", 1, "n", ""), ""},
		{"missing conversation", func() Operation { o := create("a", 1, "n", ""); o.ConversationID = ""; return o }(), CodeMissingField},
		{"missing name", create("a", 1, "", ""), CodeMissingField},
		{"negative latency", func() Operation { o := create("a", 1, "n", ""); o.LatencyMs = -1; return o }(), CodeInvalidField},
		{"id too long", create(long, 1, "n", ""), CodeInvalidField},
		{"empty id", create("", 1, "n", ""), CodeInvalidField},
		{"invalid utf-8", func() Operation { o := create("a", 1, "n", ""); o.Input = "\xff"; return o }(), CodeInvalidField},
		{"timestamp out of range", func() Operation {
			o := create("a", 1, "n", "")
			o.Timestamp = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
			return o
		}(), CodeInvalidField},
		{"update of conversation", update("a", 2, func(o *Operation) { o.ConversationID = "x"; o.Set = o.Set.With(FieldConversationID) }), CodeImmutableField},
		{"update of timestamp", update("a", 2, func(o *Operation) { o.Set = o.Set.With(FieldTimestamp) }), CodeImmutableField},
		{"update to empty name", update("a", 2, func(o *Operation) { o.Set = o.Set.With(FieldName) }), CodeMissingField},
		{"empty attribute key", func() Operation {
			o := create("a", 1, "n", "")
			o.Attributes = []Attribute{{Key: "", Value: "v"}}
			return o
		}(), CodeInvalidField},
		{"delete", del("a", 3), ""},
		{"generation fields", func() Operation {
			o := create("a", 1, "n", "")
			o.Generation = Generation{Model: "m", InputTokens: 5, TimeToFirstTokenMs: 3, TraceID: "0af7651916cd43dd8448eb211c80319c", SpanID: "b7ad6b7169203331"}
			return o
		}(), ""},
		{"tokens beyond 2^53", func() Operation { o := create("a", 1, "n", ""); o.OutputTokens = MaxTokens + 1; return o }(), CodeInvalidField},
		{"negative time to first token", func() Operation { o := create("a", 1, "n", ""); o.TimeToFirstTokenMs = -1; return o }(), CodeInvalidField},
		{"uppercase trace id", func() Operation {
			o := create("a", 1, "n", "")
			o.TraceID = "0AF7651916CD43DD8448EB211C80319C"
			return o
		}(), CodeInvalidField},
		{"short span id", func() Operation { o := create("a", 1, "n", ""); o.SpanID = "b7ad"; return o }(), CodeInvalidField},
		{"model too long", func() Operation { o := create("a", 1, "n", ""); o.Model = string(make([]byte, 1025)); return o }(), CodeInvalidField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := l.Validate(&tt.op)
			switch {
			case tt.wantCode == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.wantCode != "" && (err == nil || err.Code != tt.wantCode):
				t.Fatalf("error = %v, want code %s", err, tt.wantCode)
			}
		})
	}
}
