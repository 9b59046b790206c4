// Package eventnormalizerprocessor turns OTLP log records from any sender
// into canonical event records (see internal/event): records that follow the
// event API's field names or the OpenTelemetry GenAI conventions become
// create operations with an id and a version, canonical records are checked
// and passed through, and a record that cannot become a valid event is
// dropped with a counted, logged reason instead of being passed on malformed.
package eventnormalizerprocessor // import "github.com/otelcol-events/otelcol-events/processor/eventnormalizerprocessor"
