package storage // import "github.com/otelcol-events/otelcol-events/internal/storage"

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/otelcol-events/otelcol-events/internal/chdb"
)

// embeddedConn runs queries on the in-process chDB engine.
type embeddedConn struct {
	conn *chdb.Conn
}

func openEmbedded(libPath, dataDir string, cfg EmbeddedConfig) (*embeddedConn, error) {
	conn, err := chdb.Open(libPath, dataDir, chdb.WithSettings(cfg.Settings()), chdb.WithAllocator(cfg.Allocator))
	if err != nil {
		return nil, err
	}
	// The engine's connection is a session: the setting holds for every
	// later statement.
	if _, err := conn.Query(context.Background(), "SET max_query_size = "+strconv.Itoa(maxEmbeddedQuery), ""); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("configure the embedded engine: %w", err)
	}
	return &embeddedConn{conn: conn}, nil
}

// maxEmbeddedQuery is the max_query_size of every embedded statement: inserts
// and id lookups carry their data inline, far beyond the default 256 KiB.
const maxEmbeddedQuery = 1 << 30

func (c *embeddedConn) Exec(ctx context.Context, query string, args ...any) error {
	q, err := bindLiterals(query, args)
	if err != nil {
		return err
	}
	_, err = c.conn.Query(ctx, q, "")
	return err
}

func (c *embeddedConn) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	q, err := bindLiterals(query, args)
	if err != nil {
		return nil, err
	}
	out, err := c.conn.Query(ctx, q, "JSONCompactEachRow")
	if err != nil {
		return nil, err
	}
	scanner := bufio.NewScanner(bytes.NewReader(out))
	scanner.Buffer(make([]byte, 0, 64<<10), len(out)+1)
	return &jsonRows{scanner: scanner}, nil
}

// QueryIDs inlines the ids in the statement: the engine runs in process, so
// there is no wire to save, and no external table to send them in.
func (c *embeddedConn) QueryIDs(ctx context.Context, query string, ids []string) (Rows, error) {
	var list strings.Builder
	if len(ids) > 0 && !slices.ContainsFunc(ids, func(id string) bool { return strings.Contains(id, idSeparator) }) {
		// One string literal that the statement splits: the engine's
		// parser takes about 35 ms over a list of 10 000 literals, and a
		// lookup of 10 000 new ids drops from about 33 to 14 ms this way.
		// The set of an IN subquery is built before the primary key is
		// consulted, which it uses as it does a literal list.
		list.WriteString("(SELECT arrayJoin(splitByChar('" + idSeparator + "', '")
		for i, id := range ids {
			if i > 0 {
				list.WriteString(idSeparator)
			}
			escapeStringLiteral(&list, id)
		}
		list.WriteString("')))")
	} else {
		list.WriteByte('(')
		for i, id := range ids {
			if i > 0 {
				list.WriteString(", ")
			}
			if err := writeLiteral(&list, id); err != nil {
				return nil, err
			}
		}
		list.WriteByte(')')
	}
	return c.Query(ctx, strings.Replace(query, IDsTable, list.String(), 1))
}

// idSeparator joins the ids of a lookup into one literal; a lookup with an
// id that contains it lists the ids one by one instead.
const idSeparator = ","

// Insert sends the block inline as JSONCompactEachRow data, after the
// statement's FORMAT clause and a newline (appendJSONRows says why this
// format): data in a well-defined encoding, never hand-escaped text, that
// no value can break. optimize_on_insert = 0: the engine would otherwise
// collapse the rows of one events key within the block, and a repair block
// (repair.go) holds cancelling rows that must reach the table as written;
// 18.16 has no such step.
func (c *embeddedConn) Insert(ctx context.Context, table string, columns []Column) error {
	names := make([]string, len(columns))
	for i, col := range columns {
		names[i] = col.Name
	}
	head := "INSERT INTO " + table + " (" + strings.Join(names, ", ") +
		") SETTINGS parallel_view_processing = 1, precise_float_parsing = 1, optimize_on_insert = 0 FORMAT JSONCompactEachRow\n"
	q := make([]byte, 0, len(head)+jsonRowsSize(columns))
	q = append(q, head...)
	q, err := appendJSONRows(q, columns)
	if err != nil {
		return fmt.Errorf("encode insert into %s: %w", table, err)
	}
	if _, err := c.conn.Query(ctx, unsafe.String(unsafe.SliceData(q), len(q)), ""); err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	return nil
}

func (c *embeddedConn) ServerVersion(ctx context.Context) (string, error) {
	out, err := c.conn.Query(ctx, "SELECT version()", "TabSeparated")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

func (c *embeddedConn) Ping(ctx context.Context) error {
	_, err := c.conn.Query(ctx, "SELECT 1", "TabSeparated")
	return err
}

func (c *embeddedConn) Close() error { return c.conn.Close() }

// jsonRows reads JSONCompactEachRow output: one JSON array per line.
type jsonRows struct {
	scanner *bufio.Scanner
	row     []json.RawMessage
	err     error
}

func (r *jsonRows) Next() bool {
	if r.err != nil {
		return false
	}
	if !r.scanner.Scan() {
		r.err = r.scanner.Err()
		return false
	}
	r.row = r.row[:0]
	if err := json.Unmarshal(r.scanner.Bytes(), &r.row); err != nil {
		r.err = fmt.Errorf("decode result row: %w", err)
		return false
	}
	return true
}

func (r *jsonRows) Scan(dest ...any) error {
	if len(dest) != len(r.row) {
		return fmt.Errorf("scan %d values into %d destinations", len(r.row), len(dest))
	}
	for i, d := range dest {
		if err := scanJSON(r.row[i], d); err != nil {
			return fmt.Errorf("column %d: %w", i, err)
		}
	}
	return nil
}

func (r *jsonRows) Err() error   { return r.err }
func (r *jsonRows) Close() error { return nil }

// scanJSON converts one JSON value into dest. 64-bit integers arrive quoted.
func scanJSON(raw json.RawMessage, dest any) error {
	unquoted := bytes.Trim(raw, `"`)
	var err error
	switch d := dest.(type) {
	case *string:
		err = json.Unmarshal(raw, d)
	case *int64:
		*d, err = strconv.ParseInt(string(unquoted), 10, 64)
	case *uint64:
		*d, err = strconv.ParseUint(string(unquoted), 10, 64)
	case *int8:
		var v int64
		v, err = strconv.ParseInt(string(unquoted), 10, 8)
		*d = int8(v)
	case *uint8:
		var v uint64
		v, err = strconv.ParseUint(string(unquoted), 10, 8)
		*d = uint8(v)
	case *float64:
		*d, err = strconv.ParseFloat(string(unquoted), 64)
	case *[]string:
		*d = (*d)[:0]
		err = json.Unmarshal(raw, d)
	case *[]uint64:
		var vs []json.Number
		if err = json.Unmarshal(raw, &vs); err == nil {
			out := make([]uint64, len(vs))
			for i, v := range vs {
				if out[i], err = strconv.ParseUint(strings.Trim(string(v), `"`), 10, 64); err != nil {
					break
				}
			}
			*d = out
		}
	default:
		return fmt.Errorf("unsupported destination %T", dest)
	}
	return err
}
