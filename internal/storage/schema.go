package storage // import "github.com/otelcol-events/otelcol-events/internal/storage"

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

// dialect is what the schema adapts to the server it finds.
type dialect struct {
	Database      string
	TimestampType string
	TTLDays       int
	// modernTime: DateTime64 and fromUnixTimestamp64Milli exist (21.1+ for
	// the function; this project treats 21.1 as the line).
	modernTime bool
}

// msToTime is the SQL that turns a column of Unix milliseconds into the
// dialect's TimestampType.
func (d dialect) msToTime(column string) string {
	if d.modernTime {
		return "fromUnixTimestamp64Milli(" + column + ", 'UTC')"
	}
	return "toDateTime(intDiv(" + column + ", 1000), 'UTC')"
}

// serverFeatures derives the dialect from a version string such as "18.16.1"
// or "26.7.3.1": DateTime64 (with the millisecond functions) from 21.1, table
// TTL from 19.6.
func serverFeatures(version string, database string, ttlDays int) (dialect, error) {
	major, minor, err := parseVersion(version)
	if err != nil {
		return dialect{}, err
	}
	d := dialect{Database: database, TimestampType: "DateTime('UTC')", TTLDays: ttlDays}
	if major >= 21 {
		d.TimestampType = "DateTime64(3, 'UTC')"
		d.modernTime = true
	}
	if ttlDays > 0 && (major < 19 || major == 19 && minor < 6) {
		return d, fmt.Errorf("ttl needs ClickHouse 19.6 or newer, the server is %s", version)
	}
	return d, nil
}

func parseVersion(v string) (major, minor int, err error) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return 0, 0, fmt.Errorf("unrecognised ClickHouse version %q", v)
	}
	if major, err = strconv.Atoi(parts[0]); err != nil {
		return 0, 0, fmt.Errorf("unrecognised ClickHouse version %q", v)
	}
	if minor, err = strconv.Atoi(parts[1]); err != nil {
		return 0, 0, fmt.Errorf("unrecognised ClickHouse version %q", v)
	}
	return major, minor, nil
}

// migrations run in order at start; each is idempotent.
var migrations = []string{
	"create_database.sql",
	"create_events.sql",
	"create_event_state.sql",
	"create_error_days.sql",
	"create_event_days.sql",
	"create_event_changes.sql",
	"create_changes_to_events.sql",
	"create_changes_to_error_days.sql",
	"create_changes_to_event_days.sql",
	"create_dead_letters.sql",
}

// Before event_changes existed, the exporter inserted into event_state itself,
// which held the columns only the views read, and the views read event_state.
var (
	// event_changes_to_state went when the exporter began to insert the
	// state itself, before the analytics rows (see repair.go).
	legacyViews        = []string{"event_state_to_events", "event_state_to_error_days", "event_changes_to_state"}
	legacyStateColumns = []string{"emit_prev", "emit_new", "prev_conversation_id", "prev_event_name",
		"prev_ts_ms", "prev_latency", "prev_is_error"}
)

// The columns the LLM call fields added to tables made before them, in the
// order of their CREATE statements (sql/create_event_state.sql,
// sql/create_events.sql). event_changes stores nothing, so a table without
// them is recreated instead, with its views.
var (
	stateGenerationColumns = []column{
		{"model", "String"}, {"provider", "String"}, {"operation", "String"},
		{"input_tokens", "UInt64"}, {"output_tokens", "UInt64"}, {"cache_read_tokens", "UInt64"},
		{"cache_creation_tokens", "UInt64"}, {"reasoning_tokens", "UInt64"},
		{"time_to_first_token", "Float64"}, {"finish_reason", "String"}, {"cost", "Float64"},
		{"trace_id", "String"}, {"span_id", "String"},
	}
	eventsGenerationColumns = []column{
		{"gen_model", "String"}, {"gen_input_tokens", "UInt64"}, {"gen_output_tokens", "UInt64"},
		{"gen_cache_read_tokens", "UInt64"}, {"gen_cache_creation_tokens", "UInt64"},
		{"gen_reasoning_tokens", "UInt64"}, {"gen_cost", "Float64"},
	}
	// changesViews read event_changes; they go with it when it is recreated.
	changesViews = []string{"event_changes_to_events", "event_changes_to_error_days", "event_changes_to_event_days"}
	// newestColumns names, per table of the insert path, the last column it
	// gained: a table without it is from before, and event_changes and its
	// views are recreated.
	newestColumns = []struct{ table, column string }{
		{"event_changes", "prev_cost"},
		{"event_changes_to_events", "gen_cost"},
	}
)

type column struct{ name, typ string }

// queries holds the rendered read and lookup statements.
type queries struct {
	states, state, conversation, errorCounts, latency, topErrorSessions string
	deadLetters, eventDays, eventNames, freshness                       string
	analyticsRows, reconcileErrorDays, reconcileEventDays               string
	modelUsage, modelLatency, topCostConversations                      string
}

func renderQueries(d dialect) (queries, error) {
	var q queries
	for _, r := range []struct {
		file string
		dst  *string
	}{
		{"select_states.sql", &q.states},
		{"select_state.sql", &q.state},
		{"select_conversation.sql", &q.conversation},
		{"select_error_counts.sql", &q.errorCounts},
		{"select_latency.sql", &q.latency},
		{"select_top_error_sessions.sql", &q.topErrorSessions},
		{"select_dead_letters.sql", &q.deadLetters},
		{"select_event_days.sql", &q.eventDays},
		{"select_event_names.sql", &q.eventNames},
		{"select_freshness.sql", &q.freshness},
		{"select_analytics_rows.sql", &q.analyticsRows},
		{"reconcile_error_days.sql", &q.reconcileErrorDays},
		{"reconcile_event_days.sql", &q.reconcileEventDays},
		{"select_model_usage.sql", &q.modelUsage},
		{"select_model_latency.sql", &q.modelLatency},
		{"select_top_cost_conversations.sql", &q.topCostConversations},
	} {
		s, err := render(r.file, d)
		if err != nil {
			return q, err
		}
		*r.dst = s
	}
	return q, nil
}

func render(file string, d dialect) (string, error) {
	text, err := sqlFiles.ReadFile("sql/" + file)
	if err != nil {
		return "", err
	}
	return renderText(file, text, d)
}

// renderText renders the SQL template text (named file in errors).
func renderText(file string, text []byte, d dialect) (string, error) {
	tmpl, err := template.New(file).Option("missingkey=error").
		Funcs(template.FuncMap{"msToTime": d.msToTime}).Parse(string(text))
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", file, err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, d); err != nil {
		return "", fmt.Errorf("render %s: %w", file, err)
	}
	return stripComments(b.String()), nil
}

// stripComments drops whole-line `--` comments: they document the files but
// old servers and the driver's placeholder scan are better off without them.
func stripComments(sql string) string {
	lines := strings.Split(sql, "\n")
	kept := lines[:0]
	for _, l := range lines {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			kept = append(kept, l)
		}
	}
	return strings.TrimSpace(strings.Join(kept, "\n"))
}

// summaries are the tables that came after events and are kept from it by a
// view: the step that creates each, its table and its backfill.
var summaries = []struct{ create, table, backfill string }{
	{"create_error_days.sql", "error_days", "backfill_error_days.sql"},
	{"create_event_days.sql", "event_days", "backfill_event_days.sql"},
}

func migrate(ctx context.Context, conn Conn, d dialect) error {
	// error_days and event_days came after events: a database written before
	// them gets their rows computed once from events, right after the views
	// that keep them up to date exist. Operations another writer applies
	// between a view's creation and the backfill are counted twice, so a
	// database in use by other collectors should be upgraded while they are
	// stopped.
	var backfills []string
	for _, file := range migrations {
		for _, sm := range summaries {
			if file != sm.create {
				continue
			}
			exists, err := tableExists(ctx, conn, d.Database, sm.table)
			if err != nil {
				return fmt.Errorf("schema step %s: %w", file, err)
			}
			if !exists {
				backfills = append(backfills, sm.backfill)
			}
		}
		if file == "create_event_changes.sql" {
			// The views of the old layout go before the new ones exist: no
			// insert may reach the analytics tables through both.
			for _, view := range legacyViews {
				if err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+d.Database+"."+view); err != nil {
					return fmt.Errorf("schema step drop %s: %w", view, err)
				}
			}
			if err := dropStaleChanges(ctx, conn, d.Database); err != nil {
				return err
			}
		}
		stmt, err := render(file, d)
		if err != nil {
			return err
		}
		if err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("schema step %s: %w", file, err)
		}
		switch file {
		case "create_events.sql":
			err = addMissingColumns(ctx, conn, d.Database, "events", eventsGenerationColumns)
		case "create_event_state.sql":
			err = addMissingColumns(ctx, conn, d.Database, "event_state", append(slices.Clip(stateGenerationColumns), stateWriteColumns...))
		}
		if err != nil {
			return err
		}
	}
	if err := dropLegacyStateColumns(ctx, conn, d.Database); err != nil {
		return err
	}
	for _, file := range backfills {
		stmt, err := render(file, d)
		if err != nil {
			return err
		}
		if err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("schema step %s: %w", file, err)
		}
	}
	return nil
}

// tableColumns returns the column names of database.table (none when it
// does not exist).
func tableColumns(ctx context.Context, conn Conn, database, table string) ([]string, error) {
	rows, err := conn.Query(ctx, "SELECT name FROM system.columns WHERE database = ? AND table = ?", database, table)
	if err != nil {
		return nil, fmt.Errorf("schema step list %s columns: %w", table, err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("schema step list %s columns: %w", table, err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("schema step list %s columns: %w", table, err)
	}
	return names, nil
}

// addMissingColumns adds to database.table those of columns it lacks, at
// its end, with their defaults for the rows it has (ClickHouse 18.16 has no
// ADD COLUMN IF NOT EXISTS). Adding a column rewrites no part.
func addMissingColumns(ctx context.Context, conn Conn, database, table string, columns []column) error {
	have, err := tableColumns(ctx, conn, database, table)
	if err != nil {
		return err
	}
	var adds []string
	for _, c := range columns {
		if !slices.Contains(have, c.name) {
			adds = append(adds, "ADD COLUMN "+c.name+" "+c.typ)
		}
	}
	if len(adds) == 0 {
		return nil
	}
	if err := conn.Exec(ctx, "ALTER TABLE "+database+"."+table+" "+strings.Join(adds, ", ")); err != nil {
		return fmt.Errorf("schema step add %d columns to %s: %w", len(adds), table, err)
	}
	return nil
}

// dropStaleChanges drops event_changes and the views that read it when one
// of them was made before its newest columns (also after a migration that
// stopped half way), so that the next steps create them anew. The table is
// of the Null engine: nothing stored goes with it. An insert of another
// collector that runs between the drop and the creation fails and is
// retried by its exporter.
func dropStaleChanges(ctx context.Context, conn Conn, database string) error {
	stale := false
	for _, nc := range newestColumns {
		have, err := tableColumns(ctx, conn, database, nc.table)
		if err != nil {
			return err
		}
		stale = stale || len(have) > 0 && !slices.Contains(have, nc.column)
	}
	if !stale {
		return nil
	}
	for _, table := range append(slices.Clip(changesViews), "event_changes") {
		if err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+database+"."+table); err != nil {
			return fmt.Errorf("schema step drop %s: %w", table, err)
		}
	}
	return nil
}

// dropLegacyStateColumns drops the columns event_state had when the views
// read it: every part would still write them, filled with defaults. (ClickHouse
// 18.16 has no DROP COLUMN IF EXISTS.)
func dropLegacyStateColumns(ctx context.Context, conn Conn, database string) error {
	rows, err := conn.Query(ctx, "SELECT name FROM system.columns WHERE database = ? AND table = 'event_state'", database)
	if err != nil {
		return fmt.Errorf("schema step list event_state columns: %w", err)
	}
	defer rows.Close()
	var drops []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return fmt.Errorf("schema step list event_state columns: %w", err)
		}
		if slices.Contains(legacyStateColumns, name) {
			drops = append(drops, "DROP COLUMN "+name)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("schema step list event_state columns: %w", err)
	}
	if len(drops) == 0 {
		return nil
	}
	if err := conn.Exec(ctx, "ALTER TABLE "+database+".event_state "+strings.Join(drops, ", ")); err != nil {
		return fmt.Errorf("schema step drop the old columns of event_state: %w", err)
	}
	return nil
}

// stateWriteColumns are the write count of event_state (event.State.Writes),
// added in place to a table made before it.
var stateWriteColumns = []column{{"writes", "UInt64"}, {"write_hashes", "Array(UInt64)"}}

// tableExists reports whether database.table exists. Names are bound as
// values, not spliced into the statement.
func tableExists(ctx context.Context, conn Conn, database, table string) (bool, error) {
	rows, err := conn.Query(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = ?", database, table)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	var n uint64
	for rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return false, err
		}
	}
	return n > 0, rows.Err()
}
