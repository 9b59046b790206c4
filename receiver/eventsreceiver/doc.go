// Package eventsreceiver serves the HTTP event API (create, update, delete,
// batch) and turns each operation into a canonical event log record handed
// synchronously to the next consumer: a 202 means the pipeline has it.
package eventsreceiver // import "github.com/otelcol-events/otelcol-events/receiver/eventsreceiver"
