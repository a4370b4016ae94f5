package parser

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// HasPlaceholders reports whether raw may contain a placeholder object. It
// is a fast byte search: false means certainly none, true means that raw
// contains the text _placeholder or a \u escape (which could spell it).
func HasPlaceholders(raw []byte) bool {
	return bytes.Contains(raw, []byte("_placeholder")) || bytes.Contains(raw, []byte(`\u`))
}

// SplitArray appends the elements of the JSON array raw to dst and returns
// the extended slice. The elements are sub-slices of raw without surrounding
// whitespace; nothing is copied. The whole of raw is validated in a single
// pass; it must be exactly one array, possibly surrounded by whitespace. On
// error dst is returned with its original length and the error wraps
// ErrInvalidJSON.
func SplitArray(dst [][]byte, raw []byte) ([][]byte, error) {
	n0 := len(dst)
	fail := func(code scanCode, off int) ([][]byte, error) {
		return dst[:n0], jsonError(code, off)
	}
	i := skipSpace(raw, 0)
	if i >= len(raw) {
		return fail(scanEOF, i)
	}
	if raw[i] != '[' {
		return dst[:n0], fmt.Errorf("%w: not an array", ErrInvalidJSON)
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		i++
	} else {
		for {
			start := skipSpace(raw, i)
			end, _, code := scanValue(raw, start, 0)
			if code != scanOK {
				return fail(code, end)
			}
			dst = append(dst, raw[start:end])
			i = skipSpace(raw, end)
			if i >= len(raw) {
				return fail(scanEOF, i)
			}
			if raw[i] == ']' {
				i++
				break
			}
			if raw[i] != ',' {
				return fail(scanBadChar, i)
			}
			i++
		}
	}
	if i = skipSpace(raw, i); i != len(raw) {
		return fail(scanTrailing, i)
	}
	return dst, nil
}

// EventName returns the name of the event whose payload is data: the first
// element of the array, with its JSON escapes decoded (an unpaired surrogate
// escape becomes U+FFFD). A number is returned in the form JavaScript gives
// it as a property key, such as "1" for 1.0 and "1e+21" for 1e21. Only the
// beginning of data is examined: the array opening, the name and the ',' or
// ']' after it.
//
// Names without escapes that have been seen before are returned without
// allocating.
func EventName(data []byte) (string, error) {
	start, end, esc, code := firstElement(data)
	if code != scanOK {
		return "", jsonError(code, end)
	}
	switch c := data[start]; {
	case c == '"':
		name := data[start+1 : end-1]
		if esc {
			return string(unescape(make([]byte, 0, len(name)), name)), nil
		}
		return intern(name), nil
	case c == '-' || isDigit(c):
		return numberName(data[start:end]), nil
	case c == ']':
		return "", fmt.Errorf("%w: empty event array", ErrInvalidPacket)
	}
	return "", fmt.Errorf("%w: event name is not a string or a number", ErrInvalidPacket)
}

// numberName converts a JSON number token to the string JavaScript's
// String(number) gives.
func numberName(tok []byte) string {
	if len(tok) <= 15 {
		plain := true
		for _, c := range tok {
			if !isDigit(c) {
				plain = false
				break
			}
		}
		if plain {
			return intern(tok)
		}
	}
	f, _ := strconv.ParseFloat(string(tok), 64) // range errors give ±Inf or 0, as in JavaScript
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	var buf [32]byte
	b, _ := appendFloat(buf[:0], f, 64)
	return intern(b)
}

// DecodeValue decodes the JSON value raw, which may contain placeholders
// referring to attachments, into dst, a non-nil pointer:
//
//   - *json.RawMessage receives raw itself (after validation, without
//     surrounding whitespace and not copied); placeholders stay as they are.
//   - *[]byte receives the attachment a placeholder refers to (the
//     attachment itself, not a copy); a JSON string is base64-decoded and
//     null gives nil, as with encoding/json.
//   - *any, *[]any and *map[string]any are decoded by encoding/json (numbers
//     become float64), then every placeholder object inside is replaced by
//     its attachment as a []byte.
//   - Any other type is decoded by encoding/json after each placeholder was
//     rewritten into a JSON string holding the base64 encoding of its
//     attachment, so that []byte fields, elements and map values anywhere in
//     dst receive the bytes. A value of type any inside such a type receives
//     that base64 string, not a []byte.
//
// A placeholder whose num does not refer to one of attachments is left as
// an ordinary object, like socket.io-parser does for a packet that is not
// binary. Malformed JSON or a type mismatch gives an error wrapping the
// encoding/json error (a *json.UnmarshalTypeError stays reachable with
// errors.As) or ErrInvalidJSON.
func DecodeValue(raw []byte, attachments [][]byte, dst any) error {
	raw = trimSpace(raw)
	switch p := dst.(type) {
	case *json.RawMessage:
		if p == nil {
			break
		}
		if _, off, code := scanAll(raw, 0); code != scanOK {
			return fmt.Errorf("socketio/parser: decode value: %w", jsonError(code, off))
		}
		*p = raw
		return nil
	case *[]byte:
		if p == nil {
			break
		}
		if len(raw) > 0 && raw[0] == '{' && len(attachments) > 0 {
			var spans []phSpan
			end, _, code := scanPlaceholders(raw, 0, 0, len(attachments), &spans)
			if code == scanOK && end == len(raw) && len(spans) == 1 && spans[0].start == 0 && spans[0].end == len(raw) {
				*p = attachments[spans[0].num]
				return nil
			}
		}
		return unmarshal(raw, p)
	case *string:
		if p != nil && simpleString(raw) {
			*p = string(raw[1 : len(raw)-1])
			return nil
		}
	case *any:
		if p == nil {
			break
		}
		if err := unmarshal(raw, p); err != nil {
			return err
		}
		if len(attachments) > 0 && HasPlaceholders(raw) {
			*p = substitute(*p, attachments)
		}
		return nil
	case *[]any:
		if p == nil {
			break
		}
		if err := unmarshal(raw, p); err != nil {
			return err
		}
		if len(attachments) > 0 && HasPlaceholders(raw) {
			for i, v := range *p {
				(*p)[i] = substitute(v, attachments)
			}
		}
		return nil
	case *map[string]any:
		if p == nil {
			break
		}
		if err := unmarshal(raw, p); err != nil {
			return err
		}
		if len(attachments) > 0 && HasPlaceholders(raw) {
			for k, v := range *p {
				(*p)[k] = substitute(v, attachments)
			}
		}
		return nil
	}
	if len(attachments) > 0 && HasPlaceholders(raw) {
		var err error
		if raw, err = rewritePlaceholders(raw, attachments); err != nil {
			return err
		}
	}
	return unmarshal(raw, dst)
}

func unmarshal(raw []byte, dst any) error {
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("socketio/parser: decode value: %w", err)
	}
	return nil
}

// simpleString reports whether raw is a JSON string without escapes and of
// valid UTF-8, whose contents are therefore its bytes.
func simpleString(raw []byte) bool {
	if len(raw) < 2 || raw[0] != '"' {
		return false
	}
	end, esc, code := scanString(raw, 0)
	return code == scanOK && !esc && end == len(raw) && utf8.Valid(raw)
}

// substitute replaces the placeholder objects in a value decoded by
// encoding/json with their attachments. Its recursion is bounded by the
// nesting limit of encoding/json.
func substitute(v any, atts [][]byte) any {
	switch x := v.(type) {
	case map[string]any:
		if b, ok := x["_placeholder"].(bool); ok && b {
			if f, ok := x["num"].(float64); ok && f == math.Trunc(f) && f >= 0 && f < float64(len(atts)) {
				return atts[int(f)]
			}
		}
		for k, e := range x {
			x[k] = substitute(e, atts)
		}
	case []any:
		for i, e := range x {
			x[i] = substitute(e, atts)
		}
	}
	return v
}

// rewritePlaceholders returns raw with every valid placeholder replaced by
// a JSON string holding the base64 encoding of its attachment.
func rewritePlaceholders(raw []byte, atts [][]byte) ([]byte, error) {
	var spans []phSpan
	end, _, code := scanPlaceholders(raw, 0, 0, len(atts), &spans)
	if code == scanOK && end != len(raw) {
		code = scanTrailing
	}
	if code != scanOK {
		return nil, fmt.Errorf("socketio/parser: decode value: %w", jsonError(code, end))
	}
	if len(spans) == 0 {
		return raw, nil
	}
	size := len(raw)
	for _, s := range spans {
		size += base64.StdEncoding.EncodedLen(len(atts[s.num])) + 2 - (s.end - s.start)
	}
	out := make([]byte, 0, size)
	prev := 0
	for _, s := range spans {
		out = append(out, raw[prev:s.start]...)
		out = append(out, '"')
		out = base64.StdEncoding.AppendEncode(out, atts[s.num])
		out = append(out, '"')
		prev = s.end
	}
	return append(out, raw[prev:]...), nil
}

// ReindexAttachments prepares raw JSON values taken from a binary packet,
// for instance some of the arguments of an event, to be sent in a new
// packet: it returns the values with their placeholders renumbered in
// traversal order and the list of the attachments they refer to, in that
// order, so that only the attachments the values use are sent. An
// attachment referred to twice is listed twice, as JavaScript would send it.
// A value without placeholders is returned as it is; so is a value whose
// placeholders already have the right numbers. Placeholders not referring to
// one of atts are left as ordinary objects (see [DecodeValue]). newAtts is
// nil when no attachment is used. Malformed JSON is an error wrapping
// ErrInvalidJSON.
func ReindexAttachments(args [][]byte, atts [][]byte) (newArgs [][]byte, newAtts [][]byte, err error) {
	newArgs = make([][]byte, len(args))
	var spans []phSpan
	for i, a := range args {
		newArgs[i] = a
		if len(atts) == 0 || !HasPlaceholders(a) {
			continue
		}
		spans = spans[:0]
		end, _, code := scanPlaceholders(a, 0, 0, len(atts), &spans)
		if code == scanOK {
			if j := skipSpace(a, end); j != len(a) {
				code, end = scanTrailing, j
			}
		}
		if code != scanOK {
			return nil, nil, fmt.Errorf("socketio/parser: argument %d: %w", i, jsonError(code, end))
		}
		first := len(newAtts)
		same := true
		var ph [48]byte
		for k, s := range spans {
			newAtts = append(newAtts, atts[s.num])
			if same && !bytes.Equal(a[s.start:s.end], appendPlaceholder(ph[:0], first+k)) {
				same = false
			}
		}
		if same {
			continue
		}
		b := make([]byte, 0, len(a)+8*len(spans))
		prev := 0
		for k, s := range spans {
			b = append(b, a[prev:s.start]...)
			b = appendPlaceholder(b, first+k)
			prev = s.end
		}
		newArgs[i] = append(b, a[prev:]...)
	}
	return newArgs, newAtts, nil
}

func appendPlaceholder(dst []byte, num int) []byte {
	dst = append(dst, `{"_placeholder":true,"num":`...)
	dst = strconv.AppendInt(dst, int64(num), 10)
	return append(dst, '}')
}
