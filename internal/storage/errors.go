package storage // import "github.com/otelcol-events/otelcol-events/internal/storage"

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// What an engine's error says, in one place for both engines: its
// ClickHouse error code, whether it can come from the data (Rejected), and
// whether a read ran out of its memory bound (ErrQueryMemoryLimit).

// ErrQueryMemoryLimit is returned by a read that needed more memory than the
// engine lets it use (ClickHouse error 241, MEMORY_LIMIT_EXCEEDED): the
// engine stopped the query before it took more. The same read fails again
// until the data it aggregates shrinks or the limit grows.
var ErrQueryMemoryLimit = errors.New("query memory limit exceeded")

// memoryLimitExceeded is ClickHouse's error code MEMORY_LIMIT_EXCEEDED.
const memoryLimitExceeded = 241

// engineError marks an engine's memory-limit error with ErrQueryMemoryLimit.
func engineError(err error) error {
	if errorCode(err) == memoryLimitExceeded {
		return fmt.Errorf("%w: %w", ErrQueryMemoryLimit, err)
	}
	return err
}

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
