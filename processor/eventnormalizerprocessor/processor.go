package eventnormalizerprocessor // import "github.com/otelcol-events/otelcol-events/processor/eventnormalizerprocessor"

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-events/otelcol-events/internal/droplog"
	"github.com/otelcol-events/otelcol-events/internal/event"
)

// reasonInvalidCanonical is the drop reason of a record that carries
// event.op but does not decode as a canonical event.
const reasonInvalidCanonical = "invalid_canonical"

var (
	outcomePassed    = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "passed")))
	outcomeConverted = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "converted")))
	outcomeDropped   = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "dropped")))
	outcomeMerged    = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "merged")))
	omittedLimits    = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "limits")))
	omittedMerged    = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "merged")))
)

type normalizer struct {
	limits       event.Limits
	buckets      int
	maxBytes     int
	conversation event.ConversationConfig
	clock        *event.Clock
	logger       *zap.Logger
	drops        *droplog.Log
	now          func() time.Time
	newID        func() (string, error)

	records    metric.Int64Counter
	dropped    metric.Int64Counter
	omitted    metric.Int64Counter
	dataPoints metric.Int64Counter
}

func newNormalizer(cfg *Config, set component.TelemetrySettings) (*normalizer, error) {
	meter := set.MeterProvider.Meter("github.com/otelcol-events/otelcol-events/processor/eventnormalizerprocessor")
	records, err := meter.Int64Counter("otelcol_events_normalizer_records",
		metric.WithDescription("Log records seen by the normalizer, by outcome (passed, converted, merged into the event of their span, dropped)."),
		metric.WithUnit("{record}"))
	if err != nil {
		return nil, err
	}
	dropped, err := meter.Int64Counter("otelcol_events_normalizer_dropped_records",
		metric.WithDescription("Log records dropped because they cannot become a valid event, by reason (e.g. missing_field:conversation_id, invalid_field:latency, invalid_canonical)."),
		metric.WithUnit("{record}"))
	if err != nil {
		return nil, err
	}
	omitted, err := meter.Int64Counter("otelcol_events_normalizer_omitted_attributes",
		metric.WithDescription("Attributes of converted records left out of the event, by reason (limits for an empty or too long key, a too long or invalid UTF-8 value, beyond max_attributes; merged for those of GenAI records merged into the event of their span, which carries them)."),
		metric.WithUnit("{attribute}"))
	if err != nil {
		return nil, err
	}
	dataPoints, err := meter.Int64Counter("otelcol_events_normalizer_dropped_data_points",
		metric.WithDescription("Metric data points received and dropped (events are not made from metrics; the processor in a metrics pipeline answers senders with success)."),
		metric.WithUnit("{datapoint}"))
	if err != nil {
		return nil, err
	}
	return &normalizer{
		conversation: cfg.ConversationID,
		dataPoints:   dataPoints,
		limits:       cfg.Limits,
		buckets:      cfg.PartitionBuckets,
		maxBytes:     cfg.MaxResourceBytes,
		clock:        event.NewClock(),
		logger:       set.Logger,
		drops:        droplog.New(set.Logger, "dropped log records that cannot become events"),
		now:          time.Now,
		newID:        newEventID,
		records:      records,
		dropped:      dropped,
		omitted:      omitted,
	}, nil
}

func newEventID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

func (n *normalizer) shutdown(context.Context) error {
	n.drops.Flush()
	return nil
}

// accepted is a record that goes on: a canonical record passed as it is, or
// the operation a record was converted to.
type accepted struct {
	// record is the record as it came: passed on as it is, or, once
	// converted, the source of the new record's trace context.
	record    plog.LogRecord
	op        event.Operation
	converted bool
}

// processLogs replaces every record by its canonical encoding. When every
// record already was a valid canonical event the batch goes on unchanged;
// otherwise the output is a new batch (canonical records are self-contained,
// so the senders' resources and scopes are not kept). When every record is
// dropped nothing goes on.
func (n *normalizer) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	total := ld.LogRecordCount()
	if total == 0 {
		return ld, nil
	}
	now := n.now()
	var (
		out      = make([]accepted, 0, total)
		reasons  map[string]int
		example  error
		omitted  int
		nConvert int
		calls    callRecords
	)
	drop := func(reason string, err error) {
		if reasons == nil {
			reasons = map[string]int{}
		}
		reasons[reason]++
		if example == nil {
			example = err
		}
		n.logger.Debug("dropped log record", zap.String("reason", reason), zap.Error(err))
	}

	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		sls := rl.ScopeLogs()
		for j := range sls.Len() {
			lrs := sls.At(j).LogRecords()
			for k := range lrs.Len() {
				lr := lrs.At(k)
				if _, canonical := lr.Attributes().Get(event.AttrOp); canonical {
					op, err := event.UnmarshalLogRecord(lr)
					if err != nil {
						drop(reasonInvalidCanonical, err)
						continue
					}
					if verr := n.limits.Validate(&op); verr != nil {
						drop(dropReason(verr), verr)
						continue
					}
					out = append(out, accepted{record: lr, op: op})
					continue
				}
				if calls.add(lr) {
					continue
				}
				conv, err := n.convert(lr, rl.Resource().Attributes(), now)
				if err != nil {
					var verr *event.ValidationError
					if !errors.As(err, &verr) {
						return ld, err
					}
					drop(dropReason(verr), verr)
					continue
				}
				conv.op.Version = n.clock.Next()
				out = append(out, accepted{record: lr, op: conv.op, converted: true})
				omitted += conv.omitted
				nConvert++
			}
		}
	}

	// The records of one LLM call become one update of its span's event.
	merged, mergedOmitted, mergeOps := 0, 0, 0
	for _, call := range calls.order {
		recs := calls.bySpan[call]
		merged += len(recs)
		op, ignored := mergeCall(call, recs)
		mergedOmitted += ignored
		if op.Set == 0 {
			continue
		}
		if verr := n.limits.Validate(&op); verr != nil {
			// Every record of the call is dropped with it.
			for range recs {
				drop(dropReason(verr), verr)
			}
			merged -= len(recs)
			continue
		}
		op.Version = n.clock.Next()
		out = append(out, accepted{record: recs[0], op: op, converted: true})
		mergeOps++
	}

	n.count(ctx, len(out)-nConvert-mergeOps, nConvert, omitted, reasons)
	if merged > 0 {
		n.records.Add(ctx, int64(merged), outcomeMerged)
	}
	if mergedOmitted > 0 {
		n.omitted.Add(ctx, int64(mergedOmitted), omittedMerged)
	}
	if len(reasons) > 0 {
		n.drops.Add(now, reasons, example)
	}
	if len(out) == 0 {
		return ld, processorhelper.ErrSkipProcessingData
	}
	// Records go out grouped by the bucket of their event id, so that the
	// kafka exporter sends all operations of an id to one partition
	// (partition_logs_by_resource_attributes).
	result := event.NewLogsBuilder(n.buckets, n.maxBytes)
	for i := range out {
		if out[i].converted {
			// Like the spanevents connector's records, the event's record
			// keeps the trace context it was logged in.
			lr := result.Append(&out[i].op, now)
			lr.SetTraceID(out[i].record.TraceID())
			lr.SetSpanID(out[i].record.SpanID())
		} else {
			result.AppendRecord(out[i].op.ID, out[i].record)
		}
	}
	return result.Logs(), nil
}

func (n *normalizer) count(ctx context.Context, passed, converted, omitted int, reasons map[string]int) {
	if passed > 0 {
		n.records.Add(ctx, int64(passed), outcomePassed)
	}
	if converted > 0 {
		n.records.Add(ctx, int64(converted), outcomeConverted)
	}
	if omitted > 0 {
		n.omitted.Add(ctx, int64(omitted), omittedLimits)
	}
	dropped := 0
	for reason, c := range reasons {
		dropped += c
		n.dropped.Add(ctx, int64(c), metric.WithAttributes(attribute.String("reason", reason)))
	}
	if dropped > 0 {
		n.records.Add(ctx, int64(dropped), outcomeDropped)
	}
}

// dropReason names a validation failure as <code>:<field>. Attribute errors
// name the attribute's key; the reason keeps only "attributes" so that the
// metric's cardinality stays bounded.
func dropReason(err *event.ValidationError) string {
	field, _, _ := strings.Cut(err.Field, ".")
	return err.Code + ":" + field
}

// processMetrics counts the data points of a metrics batch and drops it.
func (n *normalizer) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	if points := md.DataPointCount(); points > 0 {
		n.dataPoints.Add(ctx, int64(points))
	}
	return md, processorhelper.ErrSkipProcessingData
}
