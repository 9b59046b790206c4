package event // import "github.com/otelcol-events/otelcol-events/internal/event"

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
