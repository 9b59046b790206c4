package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// largeGroupEvents is the number of events created in the one large
// (event_name, conversation) group; 10% of them get a new latency, 10% are
// deleted (half of those after their update), which leaves 216 000.
const largeGroupEvents = 240_000

// largeGroupMaxMemory bounds the p95 query over the large group: the query
// of select_latency.sql needs a few MiB per 100 000 events of a group, the
// previous one (previousLatencySQL) n² x 8 bytes for a group with a -1 row.
const largeGroupMaxMemory = 64 << 20

// largeGroupSQL generates the rows the analytics view would write for the
// large group straight into events, from numbers(), in the inserts that
// would write them: the +1 row of every create, then the -1 and +1 rows of
// every update (n % 10 = 3), then the -1 row of every delete (n % 20 in (7,
// 13): half of them updated first). (One insert would not do: an engine
// that collapses an inserted block, as 26.x does, would cancel the pairs
// before anything reads them.) Latencies take 20 000 values, so values
// repeat and a cancelled value usually has kept twins; every thousandth
// event is created with latency 0 and updated. largeGroupLatencies
// computes the same in Go.
const largeGroupSQL = `INSERT INTO %[1]s.events (id, conversation, name, event_time, event_time_ms, latency_ms, is_error, rev, sign)
SELECT concat('e', toString(n)), 'conv-large', 'large', toDateTime(intDiv(ts, 1000)), ts,
       tupleElement(r, 1), 0, tupleElement(r, 2), tupleElement(r, 3)
FROM (
    SELECT number AS n, toInt64(%[2]d + n) AS ts, (n * 2654435761) %% 4294967296 AS h,
           if(n %% 1000 = 3, 0, (h %% 20000) / 10) AS lat0, (intDiv(h, 7) %% 20000) / 10 AS lat1,
           n %% 10 = 3 AS upd, n %% 20 IN (7, 13) AS del
    FROM numbers(%[3]d)
)
ARRAY JOIN [%[4]s] AS r
WHERE tupleElement(r, 3) != 0`

// largeGroupRows are the rows of each insert of largeGroupSQL: (latency,
// rev, sign), sign 0 for none.
var largeGroupRows = []string{
	"(lat0, toUInt64(1), toInt8(1))",
	"(lat0, toUInt64(1), toInt8(-upd)), (lat1, toUInt64(2), toInt8(upd))",
	"(if(upd, lat1, lat0), toUInt64(1 + upd), toInt8(-del))",
}

// largeGroupLatencies returns the latencies of the events left in a large
// group of events creates.
func largeGroupLatencies(events uint64) []float64 {
	var out []float64
	for n := range events {
		h := (n * 2654435761) % 4294967296
		lat := float64(h%20000) / 10
		if n%1000 == 3 {
			lat = 0
		}
		if n%10 == 3 {
			lat = float64((h/7)%20000) / 10
		}
		if n%20 == 7 || n%20 == 13 {
			continue
		}
		out = append(out, lat)
	}
	return out
}

// TestLatencyLargeGroup: the p95 of one group of 240 000 events with
// updates and deletes, unmerged, is exact and fits in 64 MiB on both
// engines; the quadratic query it replaced fails under the same bound, with
// ErrQueryMemoryLimit, as the store's query does under 1 MiB.
func TestLatencyLargeGroup(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		db := s.dialect.Database
		if err := insertLargeGroup(ctx, s, largeGroupEvents); err != nil {
			t.Fatal(err)
		}
		var cancelled uint64
		if err := scanOne(ctx, s, "SELECT toUInt64(countIf(sign < 0)) FROM "+db+".events WHERE conversation = 'conv-large'", &cancelled); err != nil || cancelled != 48_000 {
			t.Fatalf("%d -1 rows in the large group (%v), want 48 000 unmerged", cancelled, err)
		}
		apply(t, s, createOp("s1", "conv-small", "small", base, 5, ""), createOp("s2", "conv-small", "small", base, 7, ""),
			deleteOp("s2"))

		vals := largeGroupLatencies(largeGroupEvents)
		want := LatencyRow{EventName: "large", ConversationID: "conv-large", P95: exactQuantile(vals, 0.95), Count: uint64(len(vals))}
		bounded := WithQueryMaxMemory(ctx, largeGroupMaxMemory)
		for _, f := range []LatencyFilter{{}, {EventName: "large"}} {
			began := time.Now()
			rows, err := s.Latency(bounded, f, 10)
			if err != nil {
				t.Fatalf("Latency(%+v) under max_memory_usage %d: %v", f, largeGroupMaxMemory, err)
			}
			t.Logf("Latency(%+v) in %s", f, time.Since(began).Round(time.Millisecond))
			if len(rows) == 0 || rows[0] != want {
				t.Fatalf("Latency(%+v) = %+v, want %+v first", f, rows, want)
			}
		}

		// The bound is the engine's: 1 MiB stops the same read, and 0
		// leaves the engine's own limit.
		if _, err := s.Latency(WithQueryMaxMemory(ctx, 1<<20), LatencyFilter{}, 10); !errors.Is(err, ErrQueryMemoryLimit) {
			t.Fatalf("Latency under max_memory_usage 1 MiB: %v, want ErrQueryMemoryLimit", err)
		}
		if rows, err := s.Latency(WithQueryMaxMemory(ctx, 0), LatencyFilter{}, 10); err != nil || len(rows) != 2 {
			t.Fatalf("Latency without a bound: %+v, %v", rows, err)
		}

		previous := strings.ReplaceAll(previousLatencySQL, "{{.Database}}", db)
		if err := readAll(bounded, s, previous, "large", "large", 0, 0, 10); !errors.Is(err, ErrQueryMemoryLimit) {
			t.Fatalf("the previous query under max_memory_usage %d: %v, want ErrQueryMemoryLimit", largeGroupMaxMemory, err)
		}
	})
}

// insertLargeGroup writes a large group of events creates into events,
// with merges stopped, as largeGroupSQL describes.
func insertLargeGroup(ctx context.Context, s *Store, events uint64) error {
	db := s.dialect.Database
	// Unmerged, as right after the inserts: every -1 row is read.
	if err := s.conn.Exec(ctx, "SYSTEM STOP MERGES "+db+".events"); err != nil {
		return err
	}
	start := time.Now().Add(-time.Hour).UnixMilli()
	for _, rows := range largeGroupRows {
		if err := s.conn.Exec(ctx, fmt.Sprintf(largeGroupSQL, db, start, events, rows)); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkLatencyGroupSize times the p95 over one group of each size (its
// events created, 10% updated, 10% deleted, unmerged), the store's query
// and the previous one, on both engines, and reports the memory each needs:
// the smallest max_memory_usage under which it runs, found by bisection to
// within 5% (MiB-needed). BENCHMARKS.md ("p95 latency at any group size")
// has the figures:
//
//	CHDB_LIB=$PWD/.cache/chdb/libchdb.so go test -run '^$' -bench LatencyGroupSize -benchtime 3x ./internal/storage
func BenchmarkLatencyGroupSize(b *testing.B) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			for _, events := range []uint64{5_000, 20_000, 240_000, 1_000_000} {
				b.Run(fmt.Sprintf("events=%d", events), func(b *testing.B) {
					s := openBenchStore(b, e)
					ctx := context.Background()
					if err := insertLargeGroup(ctx, s, events); err != nil {
						b.Fatal(err)
					}
					for _, q := range []struct{ name, sql string }{
						{"store", s.queries.latency},
						{"previous", strings.ReplaceAll(previousLatencySQL, "{{.Database}}", s.dialect.Database)},
					} {
						b.Run(q.name, func(b *testing.B) {
							run := func(ctx context.Context) error { return readAll(ctx, s, q.sql, "large", "large", 0, 0, 10) }
							if err := run(ctx); err != nil {
								b.Skipf("fails: %.300v", err)
							}
							for b.Loop() {
								if err := run(ctx); err != nil {
									b.Fatal(err)
								}
							}
							b.ReportMetric(float64(memoryNeeded(b, run))/(1<<20), "MiB-needed")
						})
					}
				})
			}
		})
	}
}

// memoryNeeded returns the smallest max_memory_usage under which run
// succeeds, to within 5%.
func memoryNeeded(b *testing.B, run func(context.Context) error) uint64 {
	ok := func(limit uint64) bool {
		err := run(WithQueryMaxMemory(context.Background(), limit))
		if err != nil && !errors.Is(err, ErrQueryMemoryLimit) {
			b.Fatal(err)
		}
		return err == nil
	}
	lo, hi := uint64(0), uint64(1<<20)
	for !ok(hi) {
		lo, hi = hi, 2*hi
	}
	for hi-lo > hi/20 {
		if mid := lo + (hi-lo)/2; ok(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// openBenchStore opens a store on a fresh database and drops it at the end.
func openBenchStore(b *testing.B, e engine) *Store {
	b.Helper()
	ctx := context.Background()
	s, err := Open(ctx, e.cfg(b, fmt.Sprintf("bench_%d", time.Now().UnixNano())))
	if err != nil {
		b.Fatalf("open %s store: %v", e.name, err)
	}
	b.Cleanup(func() {
		_ = s.conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+s.dialect.Database)
		_ = s.Close()
	})
	return s
}

// scanOne scans the one row of a statement.
func scanOne(ctx context.Context, s *Store, query string, dest ...any) error {
	rows, err := s.conn.Query(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		return fmt.Errorf("no row: %v", rows.Err())
	}
	return rows.Scan(dest...)
}

// readAll reads every row of a statement and returns its error.
func readAll(ctx context.Context, s *Store, query string, args ...any) error {
	rows, err := s.read(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// previousLatencySQL is select_latency.sql before issue 16: it netted the
// -1 rows with countEqual over the whole group once per element, quadratic
// in time and memory (n² x 8 bytes for a group of n rows with a -1 row).
const previousLatencySQL = `SELECT name, conversation, p95, toUInt64(n) FROM (
    SELECT name, conversation,
           arraySort(groupArray(if(sign > 0, latency_ms, if(latency_ms = 0, -inf, -latency_ms)))) AS a,
           arrayCount(x -> x < 0, a) AS m,
           toInt64(length(a)) - 2 * toInt64(m) AS n,
           toUInt64(floor(0.95 * n)) + 1 AS k,
           if(m = 0, a[k], arrayFilter((x, o) -> o > countEqual(a, if(x = 0, -inf, -x)),
                                        arraySlice(a, m + 1), arrayEnumerateUniq(arraySlice(a, m + 1)))[k]) AS p95
    FROM {{.Database}}.events
    WHERE (? = '' OR name = ?) AND (? = 0 OR event_time >= toDateTime(?))
    GROUP BY name, conversation
    HAVING n > 0
)
ORDER BY p95 DESC, name, conversation
LIMIT ?`
