package eventsreceiver // import "github.com/otelcol-events/otelcol-events/receiver/eventsreceiver"

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// scanBody decodes the common shape of a body without reflection: one JSON
// object whose keys are spelled exactly as the fields, each at most once,
// each value of its field's type (or null). It reports false for anything
// else, errors included: decodeBody then leaves the body to encoding/json,
// which decides and words the error. Whatever scanBody accepts, encoding/json
// decodes to the same body (FuzzScanBody), so the API answers alike on both
// paths; scanBody only spares the common case reflection, a second pass over
// the bytes and an allocation per field.
func scanBody(data []byte) (*body, bool) {
	s := scanner{src: string(data)}
	// One allocation holds the body and every value it points to.
	st := new(scannedBody)
	b := &st.body
	var seen uint16
	s.skipSpace()
	if !s.consume('{') {
		return nil, false
	}
	s.skipSpace()
	if s.consume('}') {
		return b, s.atEnd()
	}
	for {
		key, ok := s.key()
		if !ok {
			return nil, false
		}
		field, ok := bodyFieldIndex(key)
		if !ok || seen&(1<<field) != 0 {
			// Other spellings, unknown and repeated fields: encoding/json.
			return nil, false
		}
		seen |= 1 << field
		s.skipSpace()
		if !s.consume(':') {
			return nil, false
		}
		s.skipSpace()
		if !s.value(field, st) {
			return nil, false
		}
		s.skipSpace()
		if s.consume('}') {
			return b, s.atEnd()
		}
		if !s.consume(',') {
			return nil, false
		}
		s.skipSpace()
	}
}

// scannedBody is a body with room for the values its fields point to.
type scannedBody struct {
	body
	op, id, conversationID, eventName, input, output, errorText string
	latency                                                     float64
	timestamp                                                   timestamp
	attributes                                                  map[string]string
}

// The fields of a body, in the order of bodyFieldNames.
const (
	bodyOp = iota
	bodyID
	bodyConversationID
	bodyEventName
	bodyInput
	bodyOutput
	bodyLatency
	bodyError
	bodyTimestamp
	bodyAttributes
)

// bodyFieldNames are the JSON names of the body's fields (see body).
var bodyFieldNames = [...]string{"op", "id", "conversation_id", "event_name", "input", "output", "latency", "error", "timestamp", "attributes"}

func bodyFieldIndex(key string) (int, bool) {
	for i, name := range bodyFieldNames {
		if key == name {
			return i, true
		}
	}
	return 0, false
}

// scanner reads JSON tokens from src; every method reports false for input
// it does not handle, valid or not.
type scanner struct {
	src string
	pos int
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.src) {
		switch s.src[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) consume(c byte) bool {
	if s.pos < len(s.src) && s.src[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

func (s *scanner) atEnd() bool {
	s.skipSpace()
	return s.pos == len(s.src)
}

func (s *scanner) peek() byte {
	if s.pos < len(s.src) {
		return s.src[s.pos]
	}
	return 0
}

// key reads an object key without escapes (a key with escapes is left to
// encoding/json).
func (s *scanner) key() (string, bool) {
	if !s.consume('"') {
		return "", false
	}
	start := s.pos
	for s.pos < len(s.src) {
		switch c := s.src[s.pos]; {
		case c == '"':
			s.pos++
			return s.src[start : s.pos-1], true
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return "", false
		default:
			s.pos++
		}
	}
	return "", false
}

// value reads the value of field into st, and points the body at it unless
// it is null.
func (s *scanner) value(field int, st *scannedBody) bool {
	if s.null() {
		return true
	}
	b := &st.body
	switch field {
	case bodyLatency:
		f, ok := s.number()
		if !ok {
			return false
		}
		st.latency, b.Latency = f, &st.latency
	case bodyTimestamp:
		return s.timestamp(st)
	case bodyAttributes:
		return s.attributes(st)
	default:
		str, ok := s.string()
		if !ok {
			return false
		}
		dst, ptr := st.stringField(field)
		*dst, *ptr = str, dst
	}
	return true
}

// stringField returns the storage of a string field and the body's pointer
// to it.
func (st *scannedBody) stringField(field int) (*string, **string) {
	switch field {
	case bodyOp:
		return &st.op, &st.Op
	case bodyID:
		return &st.id, &st.ID
	case bodyConversationID:
		return &st.conversationID, &st.ConversationID
	case bodyEventName:
		return &st.eventName, &st.EventName
	case bodyInput:
		return &st.input, &st.Input
	case bodyOutput:
		return &st.output, &st.Output
	default:
		return &st.errorText, &st.Error
	}
}

func (s *scanner) null() bool {
	if strings.HasPrefix(s.src[s.pos:], "null") {
		s.pos += len("null")
		return true
	}
	return false
}

func (s *scanner) timestamp(st *scannedBody) bool {
	var err error
	if s.peek() == '"' {
		str, ok := s.string()
		if !ok {
			return false
		}
		st.timestamp.t, err = parseTimestamp(str)
	} else {
		ms, ok := s.number()
		if !ok {
			return false
		}
		st.timestamp.t, err = timestampFromMillis(ms)
	}
	if err != nil {
		return false
	}
	st.Timestamp = &st.timestamp
	return true
}

// attributes reads an object of strings; null values and repeated keys are
// left to decodeBodyJSON, which rejects them.
func (s *scanner) attributes(st *scannedBody) bool {
	if !s.consume('{') {
		return false
	}
	m := make(map[string]string)
	s.skipSpace()
	if !s.consume('}') {
		for {
			k, ok := s.string()
			if !ok {
				return false
			}
			s.skipSpace()
			if !s.consume(':') {
				return false
			}
			s.skipSpace()
			v, ok := s.string()
			if !ok {
				return false
			}
			if _, repeated := m[k]; repeated {
				return false
			}
			m[k] = v
			s.skipSpace()
			if s.consume('}') {
				break
			}
			if !s.consume(',') {
				return false
			}
			s.skipSpace()
		}
	}
	st.attributes, st.Attributes = m, &st.attributes
	return true
}

// number reads a JSON number as encoding/json does into a float64.
func (s *scanner) number() (float64, bool) {
	start := s.pos
	s.consume('-')
	switch c := s.peek(); {
	case c == '0':
		s.pos++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		return 0, false
	}
	if s.consume('.') && !s.digits() {
		return 0, false
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.pos++
		if c := s.peek(); c == '+' || c == '-' {
			s.pos++
		}
		if !s.digits() {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s.src[start:s.pos], 64)
	return f, err == nil
}

// digits reads one or more decimal digits.
func (s *scanner) digits() bool {
	start := s.pos
	for s.pos < len(s.src) && s.src[s.pos] >= '0' && s.src[s.pos] <= '9' {
		s.pos++
	}
	return s.pos > start
}

// string reads a JSON string. Without escapes it is a slice of src; with
// them it is unquoted as encoding/json does (a lone surrogate becomes
// U+FFFD). Invalid UTF-8 is left to encoding/json.
func (s *scanner) string() (string, bool) {
	if !s.consume('"') {
		return "", false
	}
	start := s.pos
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case c == '"':
			s.pos++
			return s.src[start : s.pos-1], true
		case c == '\\':
			return s.unquote(start)
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			s.pos++
		default:
			r, size := utf8.DecodeRuneInString(s.src[s.pos:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			s.pos += size
		}
	}
	return "", false
}

// unquote finishes a string that starts at start and has an escape at pos.
func (s *scanner) unquote(start int) (string, bool) {
	var out strings.Builder
	out.Grow(s.pos - start + 16)
	out.WriteString(s.src[start:s.pos])
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case c == '"':
			s.pos++
			return out.String(), true
		case c == '\\':
			if s.pos+1 >= len(s.src) {
				return "", false
			}
			esc := s.src[s.pos+1]
			s.pos += 2
			switch esc {
			case '"', '\\', '/':
				out.WriteByte(esc)
			case 'b':
				out.WriteByte('\b')
			case 'f':
				out.WriteByte('\f')
			case 'n':
				out.WriteByte('\n')
			case 'r':
				out.WriteByte('\r')
			case 't':
				out.WriteByte('\t')
			case 'u':
				r, ok := s.hex4()
				if !ok {
					return "", false
				}
				if utf16.IsSurrogate(r) {
					r = s.lowSurrogate(r)
				}
				out.WriteRune(r)
			default:
				return "", false
			}
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			out.WriteByte(c)
			s.pos++
		default:
			r, size := utf8.DecodeRuneInString(s.src[s.pos:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			out.WriteString(s.src[s.pos : s.pos+size])
			s.pos += size
		}
	}
	return "", false
}

// lowSurrogate completes the surrogate r with the \u escape that follows it
// when the two make a pair; otherwise r becomes U+FFFD and what follows is
// read on its own.
func (s *scanner) lowSurrogate(r rune) rune {
	if !strings.HasPrefix(s.src[s.pos:], `\u`) {
		return unicode.ReplacementChar
	}
	save := s.pos
	s.pos += 2
	r2, ok := s.hex4()
	if ok {
		if pair := utf16.DecodeRune(r, r2); pair != unicode.ReplacementChar {
			return pair
		}
	}
	s.pos = save
	return unicode.ReplacementChar
}

// hex4 reads the four hex digits of a \u escape.
func (s *scanner) hex4() (rune, bool) {
	if s.pos+4 > len(s.src) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s.src[s.pos : s.pos+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	s.pos += 4
	return r, true
}
