// Package clickhouseeventsexporter writes canonical event records to
// ClickHouse (a server over the native protocol, or the embedded chDB
// engine): batched by the exporterhelper queue, merged onto each event's
// stored state (partial updates, out-of-order operations, final soft
// deletes), idempotent under replays.
package clickhouseeventsexporter // import "github.com/otelcol-events/otelcol-events/exporter/clickhouseeventsexporter"
