package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/otelcol-events/otelcol-events/internal/httpapi"
)

// Names of the ceilings, as the report and the ratios use them.
const (
	ceilingClickHouse    = "ceiling.clickhouse (a)"
	ceilingHTTP          = "ceiling.http (b)"
	ceilingHTTPBatch     = "ceiling.http.batch (b)"
	ceilingKafkaProduce  = "ceiling.kafka.produce (c)"
	ceilingKafkaConsume  = "ceiling.kafka.consume (c)"
	ceilingScratchDB     = "bench_ceiling"
	clickhouseDialTimout = 5 * time.Second
)

// openClickHouse connects to tcp://[user[:password]@]host:port (or
// host:port) and checks that the server answers.
func openClickHouse(ctx context.Context, raw string) (driver.Conn, error) {
	if !strings.Contains(raw, "://") {
		raw = "tcp://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse ClickHouse address %q: %w", raw, err)
	}
	if u.Scheme != "tcp" && u.Scheme != "clickhouse" {
		return nil, fmt.Errorf("ClickHouse address %q: want tcp://host:port (the native protocol)", raw)
	}
	opts := &clickhouse.Options{Addr: []string{u.Host}, DialTimeout: clickhouseDialTimout}
	if u.User != nil {
		opts.Auth.Username = u.User.Username()
		opts.Auth.Password, _ = u.User.Password()
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open ClickHouse %s: %w", u.Host, err)
	}
	pctx, cancel := context.WithTimeout(ctx, clickhouseDialTimout)
	defer cancel()
	if err := conn.Ping(pctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("no ClickHouse server at %s: %w", u.Host, err)
	}
	return conn, nil
}

// ceilingClickHouseInsert is ceiling (a): the rows of the batch stream,
// built before the clock starts, inserted with clickhouse-go column batches
// of batchSize rows into a plain MergeTree table. It is what the collector's
// storage tier could do at best with the same server and the same rows.
func ceilingClickHouseInsert(ctx context.Context, conn driver.Conn, runID string, s stream, batchSize int) (phaseResult, error) {
	table := fmt.Sprintf("%s.rows_%s", ceilingScratchDB, runID)
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+ceilingScratchDB); err != nil {
		return phaseResult{}, fmt.Errorf("ceiling (a): create database %s: %w", ceilingScratchDB, err)
	}
	// DateTime, not DateTime64: the old server of `make services` has no
	// DateTime64, and the collector stores seconds there too.
	ddl := "CREATE TABLE IF NOT EXISTS " + table + ` (
		id String, conversation_id String, event_name String, ts DateTime,
		input String, output String, latency Float64, error String,
		attr_keys Array(String), attr_values Array(String)
	) ENGINE = MergeTree() PARTITION BY toYYYYMM(ts) ORDER BY (conversation_id, ts, id)`
	if err := conn.Exec(ctx, ddl); err != nil {
		return phaseResult{}, fmt.Errorf("ceiling (a): create table %s: %w", table, err)
	}
	defer func() {
		// A fresh context: the run's may be done, the scratch table must go.
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = conn.Exec(dctx, "DROP TABLE IF EXISTS "+table)
	}()

	batches := buildColumnBatches(runID, s, max(1, batchSize))
	const columns = "id, conversation_id, event_name, ts, input, output, latency, error, attr_keys, attr_values"
	var lat []time.Duration
	rows := 0
	start := time.Now()
	for _, cb := range batches {
		t0 := time.Now()
		batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+table+" ("+columns+")")
		if err != nil {
			return phaseResult{}, fmt.Errorf("ceiling (a): prepare insert: %w", err)
		}
		for i, col := range cb.columns() {
			if err := batch.Column(i).Append(col); err != nil {
				_ = batch.Abort()
				return phaseResult{}, fmt.Errorf("ceiling (a): append column %d: %w", i, err)
			}
		}
		if err := batch.Send(); err != nil {
			return phaseResult{}, fmt.Errorf("ceiling (a): send insert: %w", err)
		}
		lat = append(lat, time.Since(t0))
		rows += len(cb.id)
	}
	elapsed := time.Since(start)
	return phaseResult{
		Name: ceilingClickHouse, Requests: len(batches), Events: rows, Seconds: elapsed.Seconds(),
		Throughput: rate(rows, elapsed), Latency: summarize(lat),
		Note: fmt.Sprintf("clickhouse-go column batches of %d rows into a plain MergeTree table; latency is per batch", batchSize),
	}, nil
}

type columnBatch struct {
	id, conv, name       []string
	ts                   []time.Time
	input, output, error []string
	latency              []float64
	keys, values         [][]string
}

func (c *columnBatch) columns() []any {
	return []any{c.id, c.conv, c.name, c.ts, c.input, c.output, c.latency, c.error, c.keys, c.values}
}

func buildColumnBatches(runID string, s stream, size int) []*columnBatch {
	now := time.Now().UTC().Truncate(time.Second)
	var out []*columnBatch
	for from := 0; from < s.count; from += size {
		to := min(from+size, s.count)
		n := to - from
		cb := &columnBatch{
			id: make([]string, 0, n), conv: make([]string, 0, n), name: make([]string, 0, n), ts: make([]time.Time, 0, n),
			input: make([]string, 0, n), output: make([]string, 0, n), error: make([]string, 0, n),
			latency: make([]float64, 0, n), keys: make([][]string, 0, n), values: make([][]string, 0, n),
		}
		for i := from; i < to; i++ {
			sp := s.spec(runID, i)
			cb.id = append(cb.id, uuid.Must(uuid.NewV7()).String())
			cb.conv = append(cb.conv, sp.Conversation)
			cb.name = append(cb.name, sp.Name)
			cb.ts = append(cb.ts, now)
			cb.input = append(cb.input, sp.Input)
			cb.output = append(cb.output, sp.Output)
			cb.latency = append(cb.latency, sp.Latency)
			cb.error = append(cb.error, sp.Error)
			cb.keys = append(cb.keys, []string{"model"})
			cb.values = append(cb.values, []string{sp.Model})
		}
		out = append(out, cb)
	}
	return out
}

// bareEvent is the create body, decoded as a plain struct.
type bareEvent struct {
	ConversationID string            `json:"conversation_id"`
	EventName      string            `json:"event_name"`
	Input          string            `json:"input"`
	Output         string            `json:"output"`
	Latency        *float64          `json:"latency"`
	Error          string            `json:"error"`
	Timestamp      json.RawMessage   `json:"timestamp"`
	ID             string            `json:"id"`
	Attributes     map[string]string `json:"attributes"`
}

// bareHandler is ceiling (b): decode the same JSON into a struct, check the
// required fields, make a UUIDv7 and answer 202 {"id": ...}; on
// /events/batch, the same for each event of an array, answered with one
// result per event as the receiver does. Nothing is stored: it bounds what
// any Go HTTP API on this machine can answer.
func bareHandler(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 10<<20))
	dec.DisallowUnknownFields()
	if r.URL.Path == "/events/batch" {
		var evs []bareEvent
		if err := dec.Decode(&evs); err != nil || len(evs) == 0 {
			http.Error(w, `{"error":{"code":"invalid_json","message":"bad body"}}`, http.StatusBadRequest)
			return
		}
		ans := batchAnswer{Results: make([]batchResult, len(evs))}
		for i, ev := range evs {
			ans.Results[i] = batchResult{Index: i, Status: http.StatusBadRequest}
			if ev.valid() {
				ans.Results[i].Status, ans.Results[i].ID = http.StatusAccepted, ev.id()
				ans.Accepted++
			}
		}
		ans.Rejected = len(evs) - ans.Accepted
		httpapi.WriteJSON(w, http.StatusAccepted, ans)
		return
	}
	var ev bareEvent
	if err := dec.Decode(&ev); err != nil || !ev.valid() {
		http.Error(w, `{"error":{"code":"invalid_json","message":"bad body"}}`, http.StatusBadRequest)
		return
	}
	httpapi.WriteAccepted(w, ev.id())
}

func (ev *bareEvent) valid() bool { return ev.ConversationID != "" && ev.EventName != "" }

// id is the event's own id, or a new UUIDv7.
func (ev *bareEvent) id() string {
	if ev.ID != "" {
		return ev.ID
	}
	return uuid.Must(uuid.NewV7()).String()
}

// startBareServer serves bareHandler on a free loopback port.
func startBareServer() (base string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("ceiling (b): listen: %w", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(bareHandler), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Serve returns ErrServerClosed at stop; any other failure shows
		// as transport errors of the ceiling's calls.
		_ = srv.Serve(ln)
	}()
	return "http://" + ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}
