// Temporary exploration tool (to be removed).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/otelcol-events/otelcol-events/internal/chdb"
)

func main() {
	conn, err := chdb.Open(os.Getenv("CHDB_LIB"), os.Args[1])
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	ctx := context.Background()
	reps := 5
	if len(os.Args) > 2 {
		reps, _ = strconv.Atoi(os.Args[2])
	}
	for _, t := range []string{"events", "event_state", "events_plain", "state_plain", "conv_plain"} {
		conn.Query(ctx, "SYSTEM STOP MERGES readbench."+t, "")
	}
	conn.Query(ctx, "SET max_query_size = 1073741824", "")
	in, _ := io.ReadAll(os.Stdin)
	for _, q := range strings.Split(string(in), ";;") {
		q = strings.TrimSpace(q)
		if q == "" {
			continue
		}
		n := reps
		if strings.HasPrefix(q, "!") {
			n = 1
			q = q[1:]
		}
		var ds []time.Duration
		var out []byte
		for i := 0; i < n; i++ {
			s := time.Now()
			out, err = conn.Query(ctx, q, "PrettyCompactMonoBlock")
			ds = append(ds, time.Since(s))
			if err != nil {
				break
			}
		}
		slices.Sort(ds)
		fmt.Printf("=== %.300s\n", strings.Join(strings.Fields(q), " "))
		if err != nil {
			fmt.Println("ERR", err)
			continue
		}
		lines := strings.Split(string(out), "\n")
		if len(lines) > 25 {
			lines = lines[:25]
		}
		fmt.Println(strings.Join(lines, "\n"))
		fmt.Printf("--- min %s median %s (n=%d)\n\n", ds[0].Round(100*time.Microsecond), ds[len(ds)/2].Round(100*time.Microsecond), n)
	}
}
