"""An app instrumented with the official OpenAI instrumentation, unmodified.

Run by test/e2e/genai_test.go: it makes three chat completions against the
OpenAI-compatible stub at OPENAI_BASE_URL (one with usage, one streamed, one
that fails with 500) inside one trace, exporting traces, logs and metrics
over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT, and prints the trace id as
JSON. The instrumentation mode comes from the environment
(OTEL_SEMCONV_STABILITY_OPT_IN, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT).
"""

import json
import sys

import openai
from opentelemetry import _logs, metrics, trace
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

resource = Resource.create({"service.name": "genai-e2e"})
tracer_provider = TracerProvider(resource=resource)
tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(tracer_provider)
logger_provider = LoggerProvider(resource=resource)
logger_provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
_logs.set_logger_provider(logger_provider)
metric_reader = PeriodicExportingMetricReader(OTLPMetricExporter(), export_interval_millis=60_000)
meter_provider = MeterProvider(resource=resource, metric_readers=[metric_reader])
metrics.set_meter_provider(meter_provider)

OpenAIInstrumentor().instrument()

client = openai.OpenAI(max_retries=0)
messages = [
    {"role": "system", "content": "You are brief."},
    {"role": "user", "content": "Say hello"},
]
tracer = trace.get_tracer("genai-e2e")
with tracer.start_as_current_span("request") as root:
    trace_id = format(root.get_span_context().trace_id, "032x")
    client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Count to three"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for _ in stream:
        pass
    try:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "fail please"}]
        )
        sys.exit("the failing call did not fail")
    except openai.InternalServerError:
        pass

# Every exporter must succeed: an export error is the failure this app exists
# to catch (flush returns False, or the SDK logs the error on stderr).
ok = tracer_provider.force_flush(10_000) and logger_provider.force_flush(10_000)
ok = meter_provider.force_flush(10_000) and ok
tracer_provider.shutdown()
logger_provider.shutdown()
meter_provider.shutdown()
print(json.dumps({"trace_id": trace_id, "flushed": bool(ok)}))
