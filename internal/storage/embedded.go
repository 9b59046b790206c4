package storage // import "github.com/otelcol-events/otelcol-events/internal/storage"

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

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
			sqlStringEscaper.WriteString(&list, id)
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

// Insert sends the block inline as TabSeparated data, which the engine
// parses without the per-value overhead of VALUES.
func (c *embeddedConn) Insert(ctx context.Context, table string, columns []Column) error {
	names := make([]string, len(columns))
	for i, col := range columns {
		names[i] = col.Name
	}
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(table)
	b.WriteString(" (")
	b.WriteString(strings.Join(names, ", "))
	b.WriteString(") SETTINGS parallel_view_processing = 1 FORMAT TabSeparated\n")
	if err := writeTSV(&b, columns); err != nil {
		return fmt.Errorf("encode insert into %s: %w", table, err)
	}
	if _, err := c.conn.Query(ctx, b.String(), ""); err != nil {
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

// bindLiterals replaces each `?` outside string literals with the SQL literal
// of the next argument. Strings are quoted and escaped, numbers formatted;
// any other type is refused, so no caller text can reach the SQL unquoted.
func bindLiterals(query string, args []any) (string, error) {
	var b strings.Builder
	b.Grow(len(query) + 16*len(args))
	next := 0
	inString := false
	for i := 0; i < len(query); i++ {
		ch := query[i]
		switch {
		case inString:
			b.WriteByte(ch)
			if ch == '\\' && i+1 < len(query) {
				i++
				b.WriteByte(query[i])
			} else if ch == '\'' {
				inString = false
			}
		case ch == '\'':
			inString = true
			b.WriteByte(ch)
		case ch == '?':
			if next >= len(args) {
				return "", fmt.Errorf("query has more placeholders than the %d arguments", len(args))
			}
			if err := writeLiteral(&b, args[next]); err != nil {
				return "", fmt.Errorf("argument %d: %w", next+1, err)
			}
			next++
		default:
			b.WriteByte(ch)
		}
	}
	if next != len(args) {
		return "", fmt.Errorf("query has %d placeholders for %d arguments", next, len(args))
	}
	return b.String(), nil
}

var sqlStringEscaper = strings.NewReplacer(`\`, `\\`, `'`, `\'`)

func writeLiteral(b *strings.Builder, v any) error {
	switch v := v.(type) {
	case string:
		b.WriteByte('\'')
		sqlStringEscaper.WriteString(b, v)
		b.WriteByte('\'')
	case int:
		b.WriteString(strconv.Itoa(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(v, 10))
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return errors.New("not a finite number")
		}
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	default:
		return fmt.Errorf("unsupported argument type %T", v)
	}
	return nil
}

var tsvEscaper = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`, "\x00", `\0`, "\b", `\b`, "\f", `\f`)

// writeTSV encodes columns of equal length as TabSeparated rows.
func writeTSV(b *strings.Builder, columns []Column) error {
	if len(columns) == 0 {
		return nil
	}
	n, err := columnLen(columns[0].Values)
	if err != nil {
		return err
	}
	for _, col := range columns[1:] {
		if m, err := columnLen(col.Values); err != nil || m != n {
			return fmt.Errorf("column %s: %d values for %d rows (%v)", col.Name, m, n, err)
		}
	}
	var arr strings.Builder
	for row := range n {
		for i, col := range columns {
			if i > 0 {
				b.WriteByte('\t')
			}
			switch vs := col.Values.(type) {
			case []string:
				tsvEscaper.WriteString(b, vs[row])
			case []uint64:
				b.WriteString(strconv.FormatUint(vs[row], 10))
			case []int64:
				b.WriteString(strconv.FormatInt(vs[row], 10))
			case []int8:
				b.WriteString(strconv.Itoa(int(vs[row])))
			case []uint8:
				b.WriteString(strconv.Itoa(int(vs[row])))
			case []float64:
				b.WriteString(strconv.FormatFloat(vs[row], 'g', -1, 64))
			case []time.Time:
				b.WriteString(vs[row].UTC().Format("2006-01-02 15:04:05.000"))
			case [][]string:
				arr.Reset()
				arr.WriteByte('[')
				for j, s := range vs[row] {
					if j > 0 {
						arr.WriteByte(',')
					}
					arr.WriteByte('\'')
					sqlStringEscaper.WriteString(&arr, s)
					arr.WriteByte('\'')
				}
				arr.WriteByte(']')
				tsvEscaper.WriteString(b, arr.String())
			case [][]uint64:
				b.WriteByte('[')
				for j, u := range vs[row] {
					if j > 0 {
						b.WriteByte(',')
					}
					b.WriteString(strconv.FormatUint(u, 10))
				}
				b.WriteByte(']')
			}
		}
		b.WriteByte('\n')
	}
	return nil
}

func columnLen(values any) (int, error) {
	switch vs := values.(type) {
	case []string:
		return len(vs), nil
	case []uint64:
		return len(vs), nil
	case []int64:
		return len(vs), nil
	case []int8:
		return len(vs), nil
	case []uint8:
		return len(vs), nil
	case []float64:
		return len(vs), nil
	case []time.Time:
		return len(vs), nil
	case [][]string:
		return len(vs), nil
	case [][]uint64:
		return len(vs), nil
	default:
		return 0, fmt.Errorf("unsupported column type %T", values)
	}
}

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
