package storage // import "github.com/otelcol-events/otelcol-events/internal/storage"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// Rejected reports whether the engine answered err with an exception that
// may come from the data of the statement (a value it cannot parse or
// convert, a function that throws on it), so that splitting the batch can
// find the operations that fail on their own. Every other error is the
// engine being unavailable or overloaded (no answer, a timeout, memory, disk,
// too many parts, a missing table) and is retried as it is, however long it
// lasts: a batch is never split, and nothing is dead-lettered, because the
// engine is down.
func Rejected(err error) bool {
	code := errorCode(err)
	return code != 0 && !unavailableCodes[code]
}

// unavailableCodes are the ClickHouse error codes that say nothing about the
// data: the engine, its disk, its memory or its schema is not in a state to
// take any insert now.
var unavailableCodes = map[int32]bool{
	3:    true, // UNEXPECTED_END_OF_FILE (a connection cut)
	16:   true, // NO_SUCH_COLUMN_IN_TABLE (the schema changed under the exporter)
	60:   true, // UNKNOWN_TABLE
	74:   true, // CANNOT_READ_FROM_FILE_DESCRIPTOR
	75:   true, // CANNOT_WRITE_TO_FILE_DESCRIPTOR
	76:   true, // CANNOT_OPEN_FILE
	77:   true, // CANNOT_CLOSE_FILE
	81:   true, // UNKNOWN_DATABASE
	159:  true, // TIMEOUT_EXCEEDED
	160:  true, // TOO_SLOW
	164:  true, // READONLY
	173:  true, // CANNOT_ALLOCATE_MEMORY
	202:  true, // TOO_MANY_SIMULTANEOUS_QUERIES
	203:  true, // NO_FREE_CONNECTION
	209:  true, // SOCKET_TIMEOUT
	210:  true, // NETWORK_ERROR
	236:  true, // ABORTED
	241:  true, // MEMORY_LIMIT_EXCEEDED
	242:  true, // TABLE_IS_READ_ONLY
	243:  true, // NOT_ENOUGH_SPACE
	252:  true, // TOO_MANY_PARTS
	319:  true, // UNKNOWN_STATUS_OF_INSERT
	394:  true, // QUERY_WAS_CANCELLED
	425:  true, // SYSTEM_ERROR (an errno from the file system)
	999:  true, // KEEPER_EXCEPTION
	1000: true, // POCO_EXCEPTION (I/O below the engine)
}

// embeddedErrorCode reads the code of an embedded engine's error message,
// "Code: 130. DB::Exception: ...".
var embeddedErrorCode = regexp.MustCompile(`\bCode: (\d+)\. DB::Exception`)

// errorCode returns the ClickHouse error code of err, 0 when the engine did
// not answer with an exception.
func errorCode(err error) int32 {
	if err == nil {
		return 0
	}
	var exc *clickhouse.Exception
	if errors.As(err, &exc) {
		return exc.Code
	}
	if m := embeddedErrorCode.FindStringSubmatch(err.Error()); m != nil {
		if code, perr := strconv.ParseInt(m[1], 10, 32); perr == nil {
			return int32(code)
		}
	}
	return 0
}

// DeadLetter is something the exporter could not store and keeps for an
// operator: an operation the engine refused on its own, or a record that is
// not a canonical event.
type DeadLetter struct {
	StoredAt time.Time
	// ID and Version are the operation's, when it has them.
	ID      string
	Version uint64
	// Payload is the operation as JSON (see DeadOperation), or the record as
	// OTLP JSON.
	Payload json.RawMessage
	Error   string
}

// DeadOperation is the JSON form of a dead-lettered operation: every field
// it carried, so that an operator can read it and send it again.
type DeadOperation struct {
	Op             string            `json:"op"`
	ID             string            `json:"id"`
	Version        uint64            `json:"version"`
	Fields         []string          `json:"fields,omitempty"`
	ConversationID string            `json:"conversation_id,omitempty"`
	EventName      string            `json:"event_name,omitempty"`
	TimestampMs    int64             `json:"timestamp_ms,omitempty"`
	Input          string            `json:"input,omitempty"`
	Output         string            `json:"output,omitempty"`
	Latency        float64           `json:"latency,omitempty"`
	Error          string            `json:"error,omitempty"`
	Attributes     map[string]string `json:"attributes,omitempty"`
}

// fieldNames are the API's names of event.Field values.
var fieldNames = [event.NumFields]string{"conversation_id", "event_name", "timestamp", "input", "output", "latency", "error", "attributes"}

// OperationDeadLetter is the dead letter of op, refused with cause.
func OperationDeadLetter(op *event.Operation, cause error) DeadLetter {
	d := DeadOperation{Op: op.Op.String(), ID: op.ID, Version: op.Version}
	for f := range event.NumFields {
		if op.Set.Has(f) {
			d.Fields = append(d.Fields, fieldNames[f])
		}
	}
	d.ConversationID, d.EventName, d.Input, d.Output, d.Latency, d.Error =
		op.ConversationID, op.Name, op.Input, op.Output, op.LatencyMs, op.Error
	if !op.Timestamp.IsZero() {
		d.TimestampMs = op.Timestamp.UnixMilli()
	}
	if len(op.Attributes) > 0 {
		d.Attributes = make(map[string]string, len(op.Attributes))
		for _, a := range op.Attributes {
			d.Attributes[a.Key] = a.Value
		}
	}
	// The operation passed validation: its strings are valid UTF-8 and its
	// latency finite, so it always encodes.
	body, _ := json.Marshal(d)
	return DeadLetter{ID: op.ID, Version: op.Version, Payload: body, Error: cause.Error()}
}

// StoreDeadLetters writes letters to the dead_letters table, stamped with
// now. It fails only when the engine cannot take an insert at all; the
// caller then keeps what it holds and tries again later.
func (s *Store) StoreDeadLetters(ctx context.Context, letters []DeadLetter, now time.Time) error {
	if len(letters) == 0 {
		return nil
	}
	n := len(letters)
	at, ids, versions := make([]int64, n), make([]string, n), make([]uint64, n)
	payloads, errs := make([]string, n), make([]string, n)
	for i, l := range letters {
		at[i], ids[i], versions[i] = now.UnixMilli(), l.ID, l.Version
		payloads[i], errs[i] = string(l.Payload), l.Error
	}
	columns := []Column{
		{"stored_at_ms", at}, {"id", ids}, {"version", versions}, {"operation", payloads}, {"error", errs},
	}
	if err := s.conn.Insert(ctx, s.dialect.Database+".dead_letters", columns); err != nil {
		return fmt.Errorf("write %d dead letters: %w", n, err)
	}
	return nil
}

// DeadLetters returns up to limit dead letters, newest first.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	rows, err := s.read(ctx, s.queries.deadLetters, limit)
	if err != nil {
		return nil, fmt.Errorf("read dead letters: %w", err)
	}
	defer rows.Close()
	var out []DeadLetter
	for rows.Next() {
		var (
			d    DeadLetter
			ms   int64
			body string
		)
		if err := rows.Scan(&ms, &d.ID, &d.Version, &body, &d.Error); err != nil {
			return nil, fmt.Errorf("scan dead letter: %w", err)
		}
		d.StoredAt, d.Payload = timeOf(ms), json.RawMessage(body)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read dead letters: %w", err)
	}
	return out, nil
}
