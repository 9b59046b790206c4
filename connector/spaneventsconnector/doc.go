// Package spaneventsconnector turns traces into canonical event records (see
// internal/event): one create operation per span that belongs to a
// conversation, with the GenAI attributes as fields, the duration as the
// latency and the status and exception events as the error. The event id is
// the span id, so a span sent twice is the same event.
package spaneventsconnector // import "github.com/otelcol-events/otelcol-events/connector/spaneventsconnector"
