package parser

import (
	"errors"
	"fmt"
	"reflect"
)

// RawValue is a JSON value taken from a received packet, to be sent again
// unchanged, binary included: JSON is the raw value (an element returned by
// [SplitArray], say) and Attachments the attachments of the packet it came
// from, which its placeholders refer to.
//
// [AppendValue] writes JSON as it is (validated, and compacted when it holds
// insignificant whitespace), except that every placeholder referring to one
// of Attachments is renumbered for the packet being encoded and its
// attachment appended to the attachment list, as a []byte value would be.
// Several RawValues may share the same Attachments: each gets only the
// attachments it uses. This is how a server echoes arguments byte for byte.
// Placeholders not referring to one of Attachments are written unchanged
// (see [DecodeValue]). An empty JSON is written as null.
type RawValue struct {
	JSON        []byte
	Attachments [][]byte
}

var rawValueType = reflect.TypeFor[RawValue]()

func (e *encoder) rawValue(dst []byte, v RawValue) ([]byte, error) {
	raw := trimSpace(v.JSON)
	if len(v.Attachments) == 0 || !HasPlaceholders(raw) {
		return appendRaw(dst, raw)
	}
	var spans []phSpan
	end, _, code := scanPlaceholders(raw, 0, 0, len(v.Attachments), &spans)
	if code == scanOK && end != len(raw) {
		code = scanTrailing
	}
	if code != scanOK {
		return dst, fmt.Errorf("socketio/parser: RawValue: %w", jsonError(code, end))
	}
	if len(spans) == 0 {
		return appendRaw(dst, raw)
	}
	if e.atts == nil {
		return dst, errors.New("socketio/parser: RawValue with attachments but no attachment list")
	}
	prev := 0
	for _, s := range spans {
		// The text between placeholders is made of whole tokens.
		dst = appendCompact(dst, raw[prev:s.start])
		b := v.Attachments[s.num]
		if b == nil {
			b = []byte{} // still binary: a placeholder, not null
		}
		var err error
		if dst, err = e.binary(dst, b); err != nil {
			return dst, err
		}
		prev = s.end
	}
	return appendCompact(dst, raw[prev:]), nil
}

// reflectRawValue encodes a RawValue met through reflection (a struct
// field, a slice element...).
func (e *encoder) reflectRawValue(dst []byte, v reflect.Value) ([]byte, error) {
	if !v.CanInterface() {
		return dst, fmt.Errorf("socketio/parser: cannot encode unexported %v", v.Type())
	}
	return e.rawValue(dst, v.Interface().(RawValue))
}
