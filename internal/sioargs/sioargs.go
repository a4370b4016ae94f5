// Package sioargs holds the wire form of Socket.IO event and
// acknowledgement arguments shared by the server (package socketio) and the
// client (package client): the raw JSON elements of the payload array and
// the binary attachments their placeholders refer to. Nothing is decoded
// until a caller asks for a Go value, and arguments passed on unchanged
// (Spread) are sent again byte for byte.
//
// Each public package wraps Args in its own exported type, so that its
// documentation and its error sentinels stay its own.
package sioargs

import (
	"fmt"

	"github.com/socketio-go/socketio/parser"
)

// Args are the raw arguments of an event or an acknowledgement.
type Args struct {
	// Elems are the raw JSON elements, placeholders included; they alias
	// the packet's payload.
	Elems [][]byte
	// Atts are the binary attachments of the packet.
	Atts [][]byte
}

// Parse splits the JSON array data (an ACK payload) into Args.
func Parse(data []byte, atts [][]byte) (Args, error) {
	elems, err := parser.SplitArray(make([][]byte, 0, 4), data) // one allocation for most payloads
	if err != nil {
		return Args{}, err
	}
	return Args{Elems: elems, Atts: atts}, nil
}

// ParseEvent splits an EVENT payload into the event name and the
// arguments that follow it.
func ParseEvent(data []byte, atts [][]byte) (string, Args, error) {
	elems, err := parser.SplitArray(make([][]byte, 0, 4), data) // one allocation for most payloads
	if err != nil {
		return "", Args{}, err
	}
	if len(elems) == 0 {
		return "", Args{}, fmt.Errorf("%w: empty event", parser.ErrInvalidPacket)
	}
	name, err := parser.EventName(data)
	if err != nil {
		return "", Args{}, err
	}
	return name, Args{Elems: elems[1:], Atts: atts}, nil
}

// Decode decodes the arguments, in order, into the values dst points to;
// a nil entry skips its argument and extra arguments are ignored. Errors
// wrap invalid, the caller's sentinel, and the parser or encoding/json
// error.
func (a Args) Decode(invalid error, dst ...any) error {
	if len(dst) > len(a.Elems) {
		return fmt.Errorf("%w: got %d arguments, want %d", invalid, len(a.Elems), len(dst))
	}
	for i, d := range dst {
		if d == nil {
			continue
		}
		if err := parser.DecodeValue(a.Elems[i], a.Atts, d); err != nil {
			return fmt.Errorf("%w: argument %d: %w", invalid, i, err)
		}
	}
	return nil
}

// Spread returns the arguments as parser.RawValue values, which an encoder
// writes back exactly as they were received, binary included.
func (a Args) Spread() []any {
	out := make([]any, len(a.Elems))
	for i, el := range a.Elems {
		out[i] = parser.RawValue{JSON: el, Attachments: a.Atts}
	}
	return out
}

// AppendJSON appends the arguments as one JSON array to dst; binary
// attachments appear as placeholders.
func (a Args) AppendJSON(dst []byte) []byte {
	dst = append(dst, '[')
	for i, el := range a.Elems {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, el...)
	}
	return append(dst, ']')
}

// JSONLen returns an upper bound of the length of the array AppendJSON
// writes, to size its buffer.
func (a Args) JSONLen() int {
	n := 2
	for _, el := range a.Elems {
		n += len(el) + 1
	}
	return n
}
