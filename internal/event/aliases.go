package event // import "github.com/otelcol-events/otelcol-events/internal/event"

import (
	"errors"
	"fmt"
)

// The attributes a record or a span from a sender other than the events
// receiver may carry an event field under, in order of precedence: the event
// API's own name first (what the sender set explicitly for this product),
// then the OpenTelemetry semantic conventions (GenAI, session). The
// eventnormalizer processor reads them from log records and the spanevents
// connector from spans, so an attribute means the same field with the same
// precedence in both. Callers must not modify these slices.
var (
	ConversationIDAliases = []string{"conversation_id", "gen_ai.conversation.id", "session.id"}
	// EventNameAliases name the event explicitly. Each component ranks the
	// name its telemetry carries natively (a log record's EventName, a
	// span's name) and OperationNameAlias after them.
	EventNameAliases = []string{"event_name", AttrName}
	InputAliases     = []string{"input", "gen_ai.input.messages", "gen_ai.prompt"}
	OutputAliases    = []string{"output", "gen_ai.output.messages", "gen_ai.completion"}
)

// OperationNameAlias is the GenAI operation name (chat, embeddings, ...), an
// event name of last resort or beside the telemetry's own name.
const OperationNameAlias = "gen_ai.operation.name"

// The keys of the event attributes (Event.Attributes) that link an event to
// the trace it was recorded in; their values are lowercase hex, as in the
// W3C traceparent.
const (
	TraceIDAttribute = "trace_id"
	SpanIDAttribute  = "span_id"
)

// ConversationConfig says where a component finds the conversation of a
// span or a log record that does not name one the event API's way.
type ConversationConfig struct {
	// Keys are the attributes that hold it, in order of precedence: those of
	// the span or record first, then those of its resource.
	Keys []string `mapstructure:"keys"`
	// TraceIDFallback says which spans and records that have none of Keys
	// take their trace id (32 hex digits) as their conversation: the calls
	// of one trace (one request of the app) are one conversation, and an
	// app instrumented without a conversation id lands. FallbackGenAI (the
	// default) limits it to GenAI calls, so that the other spans of a
	// traces pipeline (HTTP handlers, health checks) do not become events.
	TraceIDFallback string `mapstructure:"trace_id_fallback"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// The values of ConversationConfig.TraceIDFallback.
const (
	FallbackGenAI = "genai"
	FallbackAll   = "all"
	FallbackNone  = "none"
)

// DefaultConversationConfig is conversation_id, gen_ai.conversation.id,
// session.id, then the trace id of a GenAI call.
func DefaultConversationConfig() ConversationConfig {
	return ConversationConfig{Keys: append([]string(nil), ConversationIDAliases...), TraceIDFallback: FallbackGenAI}
}

// FallBack reports whether a span or record without a conversation takes
// its trace id; genAI says whether it is a GenAI call.
func (c ConversationConfig) FallBack(genAI bool) bool {
	return c.TraceIDFallback == FallbackAll || c.TraceIDFallback == FallbackGenAI && genAI
}

// Validate reports every problem at once.
func (c ConversationConfig) Validate() error {
	var errs []error
	seen := make(map[string]bool, len(c.Keys))
	for _, k := range c.Keys {
		switch {
		case k == "":
			errs = append(errs, errors.New("conversation_id::keys: keys must not be empty"))
		case seen[k]:
			errs = append(errs, fmt.Errorf("conversation_id::keys: %s is listed twice", k))
		}
		seen[k] = true
	}
	switch c.TraceIDFallback {
	case FallbackGenAI, FallbackAll:
	case FallbackNone:
		if len(c.Keys) == 0 {
			errs = append(errs, errors.New("conversation_id: no keys and trace_id_fallback none: no event could have a conversation"))
		}
	default:
		errs = append(errs, fmt.Errorf("conversation_id::trace_id_fallback: must be genai, all or none, got %q", c.TraceIDFallback))
	}
	return errors.Join(errs...)
}
