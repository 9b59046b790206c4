package storage // import "github.com/otelcol-events/otelcol-events/internal/storage"

import (
	"encoding/binary"
	"fmt"
	"math"
)

// appendRowBinary encodes columns of equal length as ClickHouse RowBinary
// rows: every string is its length and its bytes, every number its
// little-endian bytes. No value is escaped, so no value (a quote, a
// backslash, a NUL, `\N`, a bracket) can change how another is read. The
// Go type of each column must be the one its table column reads: []string
// for String, []uint64 for UInt64, []int64 for Int64, []int8 for Int8,
// []uint8 for UInt8, []float64 for Float64, [][]string for Array(String),
// [][]uint64 for Array(UInt64).
func appendRowBinary(b []byte, columns []Column) ([]byte, error) {
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
		for _, col := range columns {
			switch vs := col.Values.(type) {
			case []string:
				b = appendString(b, vs[row])
			case []uint64:
				b = binary.LittleEndian.AppendUint64(b, vs[row])
			case []int64:
				b = binary.LittleEndian.AppendUint64(b, uint64(vs[row]))
			case []int8:
				b = append(b, byte(vs[row]))
			case []uint8:
				b = append(b, vs[row])
			case []float64:
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(vs[row]))
			case [][]string:
				b = binary.AppendUvarint(b, uint64(len(vs[row])))
				for _, s := range vs[row] {
					b = appendString(b, s)
				}
			case [][]uint64:
				b = binary.AppendUvarint(b, uint64(len(vs[row])))
				for _, u := range vs[row] {
					b = binary.LittleEndian.AppendUint64(b, u)
				}
			}
		}
	}
	return b, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// rowBinarySize is an upper bound of the encoded size of columns, so that
// the insert statement is allocated once.
func rowBinarySize(columns []Column) int {
	size := 0
	for _, col := range columns {
		switch vs := col.Values.(type) {
		case []string:
			for _, s := range vs {
				size += binary.MaxVarintLen64 + len(s)
			}
		case []uint64, []int64, []float64:
			n, _ := columnLen(vs)
			size += 8 * n
		case []int8, []uint8:
			n, _ := columnLen(vs)
			size += n
		case [][]string:
			for _, arr := range vs {
				size += binary.MaxVarintLen64
				for _, s := range arr {
					size += binary.MaxVarintLen64 + len(s)
				}
			}
		case [][]uint64:
			for _, arr := range vs {
				size += binary.MaxVarintLen64 + 8*len(arr)
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
