package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// kafkaDistinctMessages is how many distinct messages ceiling (c) cycles
// through: enough to vary sizes like real traffic, few enough to build them
// before the clock starts.
const kafkaDistinctMessages = 1024

// kafkaMessages encodes creates of stream s as the ingest tier puts a
// single-event call on the topic: a canonical log record, otlp_proto.
func kafkaMessages(runID string, s stream, n int) ([][]byte, error) {
	var m plog.ProtoMarshaler
	now := time.Now()
	out := make([][]byte, n)
	for i := range out {
		sp := s.spec(runID, i)
		op := event.Operation{
			Op: event.OpCreate, ID: uuid.Must(uuid.NewV7()).String(), Version: uint64(now.UnixNano()) + uint64(i), Set: event.AllFields,
			Event: event.Event{
				ConversationID: sp.Conversation, Name: sp.Name, Timestamp: now, Input: sp.Input, Output: sp.Output,
				LatencyMs: sp.Latency, Error: sp.Error, Attributes: []event.Attribute{{Key: "model", Value: sp.Model}},
			},
		}
		// One resource (the ingest tier keys messages by a resource
		// attribute) holding the one record of a single-event call.
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("event.partition", strconv.Itoa(i%16))
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName(event.ScopeName)
		op.MarshalLogRecord(sl.LogRecords().AppendEmpty(), now)
		b, err := m.MarshalLogs(ld)
		if err != nil {
			return nil, fmt.Errorf("encode a canonical record: %w", err)
		}
		out[i] = b
	}
	return out, nil
}

// ceilingKafka is ceiling (c): the broker alone. count messages of the
// ingest tier's size are produced with the kafka exporter's settings (acks
// from all in-sync replicas, lz4, 5 ms linger), each caller waiting for its
// ack as an HTTP request waits in the Kafka topology; then one consumer
// reads them all back. The scratch topic is deleted afterwards.
func ceilingKafka(ctx context.Context, brokers, runID string, s stream, concurrency int) (phaseResult, phaseResult, error) {
	seeds := kgo.SeedBrokers(strings.Split(brokers, ",")...)
	topic := "bench-ceiling-" + runID
	admin, err := kgo.NewClient(seeds)
	if err != nil {
		return phaseResult{}, phaseResult{}, fmt.Errorf("ceiling (c): kafka client: %w", err)
	}
	defer admin.Close()
	if err := createTopic(ctx, admin, topic); err != nil {
		return phaseResult{}, phaseResult{}, fmt.Errorf("ceiling (c): no usable Kafka at %s: %w", brokers, err)
	}
	defer func() {
		// A fresh context: the run's may be over; a failure only leaves a
		// scratch topic behind.
		dctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = deleteTopic(dctx, admin, topic)
	}()

	msgs, err := kafkaMessages(runID, s, min(kafkaDistinctMessages, max(1, s.count)))
	if err != nil {
		return phaseResult{}, phaseResult{}, err
	}
	producer, err := kgo.NewClient(seeds, kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.Lz4Compression()), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		return phaseResult{}, phaseResult{}, fmt.Errorf("ceiling (c): producer: %w", err)
	}
	produce := closedLoop(ctx, ceilingKafkaProduce, s.count, concurrency, nil, func(i int) callResult {
		rec := &kgo.Record{Key: strconv.AppendInt(nil, int64(i), 10), Value: msgs[i%len(msgs)]}
		t0 := time.Now()
		err := producer.ProduceSync(ctx, rec).FirstErr()
		r := callResult{latency: time.Since(t0), outcome: outcome{ok: 1}}
		if err != nil {
			r.outcome, r.errKey, r.errText = outcome{failed: 1}, "produce", err.Error()
		}
		return r
	})
	producer.Close()
	sum := 0
	for _, m := range msgs {
		sum += len(m)
	}
	produce.Note = fmt.Sprintf("franz-go ProduceSync per message (acks all, lz4, linger 5ms), %d-byte messages on average", sum/len(msgs))

	consume, err := consumeAll(ctx, seeds, topic, produce.Events)
	if err != nil {
		return produce, consume, err
	}
	return produce, consume, nil
}

// consumeAll reads want messages of topic from the start with one consumer.
func consumeAll(ctx context.Context, seeds kgo.Opt, topic string, want int) (phaseResult, error) {
	res := phaseResult{Name: ceilingKafkaConsume, Note: "one franz-go consumer reading the produced messages from the start"}
	consumer, err := kgo.NewClient(seeds, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return res, fmt.Errorf("ceiling (c): consumer: %w", err)
	}
	defer consumer.Close()
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	start := time.Now()
	got := 0
	for got < want && pctx.Err() == nil {
		fetches := consumer.PollFetches(pctx)
		if errs := fetches.Errors(); len(errs) > 0 && pctx.Err() == nil {
			return res, fmt.Errorf("ceiling (c): consume: %w", errs[0].Err)
		}
		got += fetches.NumRecords()
	}
	elapsed := time.Since(start)
	res.Requests, res.Events, res.Seconds, res.Throughput = got, got, elapsed.Seconds(), rate(got, elapsed)
	if got < want {
		return res, fmt.Errorf("ceiling (c): consumed %d of %d messages in %s", got, want, elapsed)
	}
	return res, nil
}

func createTopic(ctx context.Context, cl *kgo.Client, topic string) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic = topic
	t.NumPartitions = -1 // the broker's defaults, as for the collector's auto-created topic
	t.ReplicationFactor = -1
	req.Topics = append(req.Topics, t)
	req.TimeoutMillis = 10_000
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	resp, err := req.RequestWith(cctx, cl)
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	if len(resp.Topics) != 1 {
		return fmt.Errorf("create topic %s: %d topics in the answer", topic, len(resp.Topics))
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	return nil
}

// ensureTopic creates topic with the broker's default partitions unless it
// exists. The tool creates the collector's topic before starting it, as an
// operator would: the kafka receiver of a collector that starts before its
// topic exists gives up on the unknown topic and only sees it at its next
// metadata refresh, minutes later.
func ensureTopic(ctx context.Context, brokers, topic string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...))
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := createTopic(ctx, cl, topic); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return err
	}
	return nil
}

// dropTopic deletes a topic with a client of its own.
func dropTopic(ctx context.Context, brokers, topic string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...))
	if err != nil {
		return err
	}
	defer cl.Close()
	return deleteTopic(ctx, cl, topic)
}

func deleteTopic(ctx context.Context, cl *kgo.Client, topic string) error {
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TopicNames = []string{topic} // up to v5
	t := kmsg.NewDeleteTopicsRequestTopic()
	t.Topic = &topic // v6 and later
	req.Topics = append(req.Topics, t)
	req.TimeoutMillis = 10_000
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("delete topic %s: %w", topic, err)
	}
	for _, t := range resp.Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			return fmt.Errorf("delete topic %s: %w", topic, err)
		}
	}
	return nil
}
