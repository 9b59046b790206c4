package storage // import "github.com/otelcol-events/otelcol-events/internal/storage"

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Both engines bind a statement's arguments here, in one place: ClickHouse
// 18.16 has no server-side query parameters, and the embedded engine's API
// takes a statement only. A string becomes a quoted literal in which the
// two characters the literal's grammar gives a meaning to (the quote and
// the backslash) are escaped, and so is every control byte; a number is
// formatted; any other type is refused. No argument can end its literal.

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

// escapeStringLiteral writes v as the inside of a quoted SQL string
// literal: a quote and a backslash escaped, and every control byte (NUL,
// tab, newline, ...) as a \xHH escape, so that the literal is one line of
// printable text that the engine reads back as exactly v.
func escapeStringLiteral(b *strings.Builder, v string) {
	const hex = "0123456789abcdef"
	for i := 0; i < len(v); i++ {
		switch ch := v[i]; {
		case ch == '\\' || ch == '\'':
			b.WriteByte('\\')
			b.WriteByte(ch)
		case ch < 0x20 || ch == 0x7f:
			b.WriteString(`\x`)
			b.WriteByte(hex[ch>>4])
			b.WriteByte(hex[ch&0xf])
		default:
			b.WriteByte(ch)
		}
	}
}

func writeLiteral(b *strings.Builder, v any) error {
	switch v := v.(type) {
	case string:
		b.WriteByte('\'')
		escapeStringLiteral(b, v)
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
