package parser

import (
	"errors"
	"reflect"
	"testing"
)

func TestRawValue(t *testing.T) {
	a, b := []byte("a"), []byte("b")
	recv := [][]byte{a, b}
	ph := func(n int) string { return string(appendPlaceholder(nil, n)) }
	tests := []struct {
		name string
		in   []any
		want string
		atts [][]byte
	}{
		{"plain", []any{RawValue{JSON: []byte(`{"k":[1,"\ud800"]}`), Attachments: recv}}, `[{"k":[1,"\ud800"]}]`, nil},
		{"empty is null", []any{RawValue{}}, `[null]`, nil},
		{"renumbered", []any{
			[]byte("x"),
			RawValue{JSON: []byte(ph(1)), Attachments: recv},
			RawValue{JSON: []byte(` { "k" : [ ` + ph(0) + ` , ` + ph(1) + ` ] } `), Attachments: recv},
		}, `[` + ph(0) + `,` + ph(1) + `,{"k":[` + ph(2) + `,` + ph(3) + `]}]`, [][]byte{[]byte("x"), b, a, b}},
		{"foreign placeholder kept", []any{RawValue{JSON: []byte(`{"_placeholder":true,"num":5}`), Attachments: recv}},
			`[{"_placeholder":true,"num":5}]`, nil},
		{"nil attachment stays binary", []any{RawValue{JSON: []byte(ph(0)), Attachments: [][]byte{nil}}}, `[` + ph(0) + `]`, [][]byte{{}}},
		{"through reflection", []any{struct {
			V  RawValue
			P  *RawValue
			L  []RawValue
			NP *RawValue
		}{
			V: RawValue{JSON: []byte(ph(1)), Attachments: recv},
			P: &RawValue{JSON: []byte(`"s"`)},
			L: []RawValue{{JSON: []byte(`[` + ph(0) + `]`), Attachments: recv}},
		}}, `[{"V":` + ph(0) + `,"P":"s","L":[[` + ph(1) + `]],"NP":null}]`, [][]byte{b, a}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var atts [][]byte
			got, err := AppendArray(nil, &atts, tt.in...)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if !reflect.DeepEqual(atts, tt.atts) {
				t.Errorf("attachments %q, want %q", atts, tt.atts)
			}
		})
	}

	// Errors.
	var atts [][]byte
	if _, err := AppendValue(nil, RawValue{JSON: []byte(`{"a":`)}, &atts); !errors.Is(err, ErrInvalidJSON) {
		t.Errorf("malformed: %v", err)
	}
	if _, err := AppendValue(nil, RawValue{JSON: []byte(ph(0) + `x`), Attachments: recv}, &atts); !errors.Is(err, ErrInvalidJSON) {
		t.Errorf("trailing data: %v", err)
	}
	if _, err := AppendValue(nil, RawValue{JSON: []byte(ph(0)), Attachments: recv}, nil); err == nil {
		t.Error("attachments without a list: no error")
	}
}

// The echo of the conformance suite with RawValue: every argument of a
// binary event sent back unchanged.
func TestRawValueEcho(t *testing.T) {
	var d Decoder
	in, err := decodeAll(t, &d, `52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
		[][]byte{{1, 2, 3}, {4, 5, 6}})
	if err != nil {
		t.Fatal(err)
	}
	elems, _ := SplitArray(nil, in.Data)
	vals := []any{"message-back"}
	for _, el := range elems[1:] {
		vals = append(vals, RawValue{JSON: el, Attachments: in.Attachments})
	}
	out := Packet{Type: Event, Namespace: "/", ID: NoID}
	if out.Data, err = AppendArray(nil, &out.Attachments, vals...); err != nil {
		t.Fatal(err)
	}
	if s := string(out.AppendText(nil)); s != `52-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]` {
		t.Errorf("echo %s", s)
	}
	if !reflect.DeepEqual(out.Attachments, in.Attachments) {
		t.Errorf("attachments %v", out.Attachments)
	}
}
