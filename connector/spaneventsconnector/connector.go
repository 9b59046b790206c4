package spaneventsconnector // import "github.com/otelcol-events/otelcol-events/connector/spaneventsconnector"

import (
	"context"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-events/otelcol-events/internal/droplog"
	"github.com/otelcol-events/otelcol-events/internal/event"
)

// reasonNoConversation is the drop reason of a span outside any
// conversation: normal in a traces pipeline that also carries other spans,
// so it is counted but not warned about.
const reasonNoConversation = event.CodeMissingField + ":conversation_id"

var (
	outcomeConverted = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "converted")))
	outcomeDropped   = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "dropped")))
	omittedTooMany   = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "max_attributes")))
	omittedSize      = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "size")))
)

type spanEvents struct {
	component.StartFunc
	component.ShutdownFunc

	next       consumer.Logs
	limits     event.Limits
	attributes []string
	// conversation says where a span's conversation comes from.
	conversation event.ConversationConfig
	buckets      int
	maxBytes     int
	clock        *event.Clock
	logger       *zap.Logger
	drops        *droplog.Log
	now          func() time.Time

	spans   metric.Int64Counter
	dropped metric.Int64Counter
	omitted metric.Int64Counter
}

func newSpanEvents(cfg *Config, set component.TelemetrySettings, next consumer.Logs) (*spanEvents, error) {
	meter := set.MeterProvider.Meter("github.com/otelcol-events/otelcol-events/connector/spaneventsconnector")
	spans, err := meter.Int64Counter("otelcol_events_spanevents_spans",
		metric.WithDescription("Spans seen by the connector, by outcome (converted, dropped)."),
		metric.WithUnit("{span}"))
	if err != nil {
		return nil, err
	}
	dropped, err := meter.Int64Counter("otelcol_events_spanevents_dropped_spans",
		metric.WithDescription("Spans that did not become an event, by reason (e.g. missing_field:conversation_id for a span outside any conversation, invalid_field:latency)."),
		metric.WithUnit("{span}"))
	if err != nil {
		return nil, err
	}
	omitted, err := meter.Int64Counter("otelcol_events_spanevents_omitted_attributes",
		metric.WithDescription("Span and resource attributes left out of the events, by reason (max_attributes beyond limits::max_attributes, size for an empty or too long key, a too long or invalid UTF-8 value)."),
		metric.WithUnit("{attribute}"))
	if err != nil {
		return nil, err
	}
	c := &spanEvents{
		next:         next,
		conversation: cfg.ConversationID,
		omitted:      omitted,
		limits:       cfg.Limits,
		attributes:   cfg.Attributes,
		buckets:      cfg.PartitionBuckets,
		maxBytes:     cfg.MaxResourceBytes,
		clock:        event.NewClock(),
		logger:       set.Logger,
		drops:        droplog.New(set.Logger, "dropped spans that cannot become events"),
		now:          time.Now,
		spans:        spans,
		dropped:      dropped,
	}
	c.ShutdownFunc = func(context.Context) error {
		c.drops.Flush()
		return nil
	}
	return c, nil
}

// Capabilities reports that the traces are read, never changed.
func (*spanEvents) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

// ConsumeTraces hands one batch of event records, one per span that became
// an event, to the next consumer; nothing when no span did.
func (c *spanEvents) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	now := c.now()
	out := event.NewLogsBuilder(c.buckets, c.maxBytes)
	var (
		reasons map[string]int
		warn    map[string]int
		example error
		omitted omissions
	)
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				span := spans.At(k)
				op, om, verr := c.convert(span, rs.Resource().Attributes())
				omitted.tooMany += om.tooMany
				omitted.tooLarge += om.tooLarge
				if verr != nil {
					reason := dropReason(verr)
					if reasons == nil {
						reasons, warn = map[string]int{}, map[string]int{}
					}
					reasons[reason]++
					if reason != reasonNoConversation {
						warn[reason]++
						if example == nil {
							example = verr
						}
					}
					c.logger.Debug("dropped span", zap.String("reason", reason), zap.Error(verr),
						zap.Stringer("trace_id", span.TraceID()), zap.Stringer("span_id", span.SpanID()))
					continue
				}
				op.Version = c.clock.Next()
				// Grouped by the bucket of the event id (see event.LogsBuilder).
				lr := out.Append(&op, now)
				lr.SetTraceID(span.TraceID())
				lr.SetSpanID(span.SpanID())
			}
		}
	}
	ld := out.Logs()
	c.count(ctx, ld.LogRecordCount(), reasons)
	if omitted.tooMany > 0 {
		c.omitted.Add(ctx, int64(omitted.tooMany), omittedTooMany)
	}
	if omitted.tooLarge > 0 {
		c.omitted.Add(ctx, int64(omitted.tooLarge), omittedSize)
	}
	if len(warn) > 0 {
		c.drops.Add(now, warn, example)
	}
	if ld.LogRecordCount() == 0 {
		return nil
	}
	return c.next.ConsumeLogs(ctx, ld)
}

func (c *spanEvents) count(ctx context.Context, converted int, reasons map[string]int) {
	if converted > 0 {
		c.spans.Add(ctx, int64(converted), outcomeConverted)
	}
	dropped := 0
	for reason, n := range reasons {
		dropped += n
		c.dropped.Add(ctx, int64(n), metric.WithAttributes(attribute.String("reason", reason)))
	}
	if dropped > 0 {
		c.spans.Add(ctx, int64(dropped), outcomeDropped)
	}
}

// dropReason names a validation failure as <code>:<field>; attribute errors
// keep only "attributes" so that the metric's cardinality stays bounded.
func dropReason(err *event.ValidationError) string {
	field, _, _ := strings.Cut(err.Field, ".")
	return err.Code + ":" + field
}
