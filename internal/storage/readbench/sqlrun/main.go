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
	var qs []string
	for _, q := range strings.Split(string(in), ";;") {
		if q = strings.TrimSpace(q); q != "" {
			qs = append(qs, q)
		}
	}
	ds := make([][]time.Duration, len(qs))
	errs := make([]error, len(qs))
	outs := make([][]byte, len(qs))
	for i := 0; i < reps; i++ {
		for k, q := range qs {
			if errs[k] != nil || (strings.HasPrefix(q, "!") && i > 0) {
				continue
			}
			s := time.Now()
			out, err := conn.Query(ctx, strings.TrimPrefix(q, "!"), "PrettyCompactMonoBlock")
			ds[k] = append(ds[k], time.Since(s))
			outs[k], errs[k] = out, err
		}
	}
	for k, q := range qs {
		fmt.Printf("=== [%d] %.300s\n", k, strings.Join(strings.Fields(q), " "))
		if errs[k] != nil {
			fmt.Println("ERR", errs[k])
			continue
		}
		lines := strings.Split(string(outs[k]), "\n")
		if len(lines) > 25 {
			lines = lines[:25]
		}
		fmt.Println(strings.Join(lines, "\n"))
		d := ds[k]
		slices.Sort(d)
		fmt.Printf("--- [%d] min %s median %s (n=%d)\n\n", k, d[0].Round(time.Millisecond), d[len(d)/2].Round(time.Millisecond), len(d))
	}
}
