// Package eventsqueryextension serves the read side of the event API: single
// events, conversation pages, the analytics reports and a health check with
// the ClickHouse state, on its own port and, through httpapi.ReadRoutes, on
// the events receiver's port.
package eventsqueryextension // import "github.com/otelcol-events/otelcol-events/extension/eventsqueryextension"
