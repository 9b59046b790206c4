// Package event is the canonical event model shared by every component of
// otelcol-events: the operation a client asked for (create, update, delete),
// its encoding as an OpenTelemetry log record, its validation rules, the
// version clock, and the merge of operations into an event's state.
//
// No component re-derives these names: the receiver encodes with this
// package, the normalizer and the connector produce records through it, and
// the exporter decodes and merges with it.
package event // import "github.com/otelcol-events/otelcol-events/internal/event"
