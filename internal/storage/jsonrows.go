package storage // import "github.com/otelcol-events/otelcol-events/internal/storage"

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// appendJSONRows encodes columns of equal length as JSONCompactEachRow rows,
// one JSON array per line, for an insert that carries its data after the
// statement.
//
// Why JSON and not RowBinary: the embedded engine splits what it is given
// into statements, and ends the data of an INSERT at the first empty line
// ("\n\n"), which binary data can hold anywhere (two bytes 0x0a of a
// version number). In these rows the only raw newline is the one between
// rows: every string escapes its quote, its backslash and every control
// byte, and every other byte (invalid UTF-8 included) goes through as it is,
// which the engine's JSON reader keeps byte for byte. Numbers are written
// exactly (floats in their shortest round-trip form, read back with
// precise_float_parsing).
//
// The Go type of each column must be one its table column reads: []string
// for String, []uint64 for UInt64, []int64 for Int64, []int8 for Int8,
// []uint8 for UInt8, []float64 for Float64, [][]string for Array(String),
// [][]uint64 for Array(UInt64).
func appendJSONRows(b []byte, columns []Column) ([]byte, error) {
	if len(columns) == 0 {
		return b, nil
	}
	n, err := columnLen(columns[0].Values)
	if err != nil {
		return nil, fmt.Errorf("column %s: %w", columns[0].Name, err)
	}
	for _, col := range columns[1:] {
		m, err := columnLen(col.Values)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", col.Name, err)
		}
		if m != n {
			return nil, fmt.Errorf("column %s: %d values for %d rows", col.Name, m, n)
		}
	}
	for row := range n {
		b = append(b, '[')
		for i, col := range columns {
			if i > 0 {
				b = append(b, ',')
			}
			switch vs := col.Values.(type) {
			case []string:
				b = appendJSONString(b, vs[row])
			case []uint64:
				b = strconv.AppendUint(b, vs[row], 10)
			case []int64:
				b = strconv.AppendInt(b, vs[row], 10)
			case []int8:
				b = strconv.AppendInt(b, int64(vs[row]), 10)
			case []uint8:
				b = strconv.AppendUint(b, uint64(vs[row]), 10)
			case []float64:
				if math.IsNaN(vs[row]) || math.IsInf(vs[row], 0) {
					return nil, fmt.Errorf("column %s, row %d: %w", col.Name, row, errNotFinite)
				}
				b = strconv.AppendFloat(b, vs[row], 'g', -1, 64)
			case [][]string:
				b = append(b, '[')
				for j, s := range vs[row] {
					if j > 0 {
						b = append(b, ',')
					}
					b = appendJSONString(b, s)
				}
				b = append(b, ']')
			case [][]uint64:
				b = append(b, '[')
				for j, u := range vs[row] {
					if j > 0 {
						b = append(b, ',')
					}
					b = strconv.AppendUint(b, u, 10)
				}
				b = append(b, ']')
			}
		}
		b = append(b, ']', '\n')
	}
	return b, nil
}

var errNotFinite = errors.New("not a finite number")

// appendJSONString appends s as a JSON string: the quote, the backslash and
// the control bytes escaped, every other byte as it is.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 0x20 && ch != '"' && ch != '\\' && ch != 0x7f {
			continue
		}
		b = append(b, s[start:i]...)
		switch ch {
		case '"', '\\':
			b = append(b, '\\', ch)
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[ch>>4], hex[ch&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonRowsSize is an estimate of the encoded size of columns, so that the
// insert statement is usually allocated once.
func jsonRowsSize(columns []Column) int {
	size := 0
	for _, col := range columns {
		switch vs := col.Values.(type) {
		case []string:
			for _, s := range vs {
				size += len(s) + len(s)/8 + 3
			}
		case []uint64, []int64, []float64:
			n, _ := columnLen(vs)
			size += 21 * n
		case []int8, []uint8:
			n, _ := columnLen(vs)
			size += 4 * n
		case [][]string:
			for _, arr := range vs {
				size += 3
				for _, s := range arr {
					size += len(s) + len(s)/8 + 3
				}
			}
		case [][]uint64:
			for _, arr := range vs {
				size += 3 + 21*len(arr)
			}
		}
	}
	return size
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
	case [][]string:
		return len(vs), nil
	case [][]uint64:
		return len(vs), nil
	default:
		return 0, fmt.Errorf("unsupported column type %T", values)
	}
}
