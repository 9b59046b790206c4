package eventnormalizerprocessor // import "github.com/otelcol-events/otelcol-events/processor/eventnormalizerprocessor"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/genai"
)

// The log records a GenAI instrumentation emits for one LLM call (the
// deprecated per-message events gen_ai.user.message, gen_ai.choice, ...,
// or gen_ai.client.inference.operation.details) share the trace context of
// the call's span, whose event the spanevents connector makes (its id is the
// span id). Such a record does not make an event of its own: the records of
// one span in a batch become one update of the span's event, which carries
// what only they hold (the prompt and the completion, when content capture
// is on) and leaves the rest (latency, tokens, error) to the span. An update
// that arrives before its create is kept and shows once the span's event
// exists, so the order of the logs and traces pipelines does not matter.
//
// Only a record of a sampled span merges (its trace flags say so): the span
// of an unsampled call is never exported, so an update would wait for a
// create that never comes. Such a record becomes an event of its own, as a
// record outside any span does.

// callRecords groups the GenAI records of a batch by span, in the order their
// spans first appear.
type callRecords struct {
	bySpan map[pcommon.SpanID][]plog.LogRecord
	order  []pcommon.SpanID
}

// add takes lr when it is a GenAI event record of a sampled span with no id
// of its own, and reports whether it did.
func (c *callRecords) add(lr plog.LogRecord) bool {
	if !genai.IsGenAIEvent(lr.EventName()) || lr.SpanID().IsEmpty() || !lr.Flags().IsSampled() {
		return false
	}
	for _, k := range idKeys {
		if v, ok := lr.Attributes().Get(k); ok && event.Present(v) {
			return false
		}
	}
	if c.bySpan == nil {
		c.bySpan = make(map[pcommon.SpanID][]plog.LogRecord)
	}
	span := lr.SpanID()
	if _, seen := c.bySpan[span]; !seen {
		c.order = append(c.order, span)
	}
	c.bySpan[span] = append(c.bySpan[span], lr)
	return true
}

// mergeCall makes the update of the span's event from the call's records:
// the input and output they hold as readable text (the messages of the
// deprecated events in order, else those of the operation details). It also
// returns how many of the records' attributes it did not use: the span
// carries them (model, tokens, provider, ...) or they describe the record.
func mergeCall(span pcommon.SpanID, recs []plog.LogRecord) (event.Operation, int) {
	op := event.Operation{Op: event.OpUpdate, ID: span.String()}
	var (
		in, out  []genai.Message
		details  struct{ input, output string }
		ignored  int
		textUsed = map[string]bool{}
	)
	for _, lr := range recs {
		name := lr.EventName()
		if msg, output, ok := genai.LegacyMessage(name, lr.Body()); ok {
			if output {
				out = append(out, msg)
			} else {
				in = append(in, msg)
			}
		}
		attrs := lr.Attributes()
		if name == genai.EventOperationDetails {
			for _, f := range [...]struct {
				key string
				dst *string
			}{{genai.AttrInputMessages, &details.input}, {genai.AttrOutputMessages, &details.output}} {
				if v, ok := attrs.Get(f.key); ok && *f.dst == "" {
					if text, ok := genai.MessagesText(v); ok {
						*f.dst = text
						textUsed[f.key] = true
					}
				}
			}
			if v, ok := attrs.Get(genai.AttrSystemInstructions); ok && details.input != "" {
				if text, ok := genai.MessagesText(v); ok && text != "" {
					details.input = "system: " + text + "\n" + details.input
					textUsed[genai.AttrSystemInstructions] = true
				}
			}
		}
		attrs.Range(func(k string, _ pcommon.Value) bool {
			if !textUsed[k] {
				ignored++
			}
			return true
		})
	}
	switch {
	case len(in) > 0:
		op.Input, op.Set = genai.Render(in), op.Set.With(event.FieldInput)
	case details.input != "":
		op.Input, op.Set = details.input, op.Set.With(event.FieldInput)
	}
	switch {
	case len(out) > 0:
		op.Output, op.Set = genai.Render(out), op.Set.With(event.FieldOutput)
	case details.output != "":
		op.Output, op.Set = details.output, op.Set.With(event.FieldOutput)
	}
	return op, ignored
}
