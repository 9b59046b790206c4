// Package readbench measures the read path of the storage package on the
// embedded engine (chDB) over a generated dataset of versioned events, and
// compares every endpoint with the same read over an append-only copy of the
// final state, next to candidate changes of the schema and queries. It
// holds only the benchmark BenchmarkReadPath (see readbench_test.go and the
// "Read path" section of BENCHMARKS.md at the repository root), which
// `go test` runs only when asked with -bench:
//
//	CHDB_LIB=$PWD/.cache/chdb/libchdb.so nice go test -run '^$' -bench ReadPath \
//	    -benchtime 1x -timeout 60m ./internal/storage/readbench
//
// READBENCH_SHAPE=skewed generates heavy-tailed conversations instead of
// uniform ones (a few of 10^5 to 10^6 events beside many small ones).
package readbench // import "github.com/otelcol-events/otelcol-events/internal/storage/readbench"
