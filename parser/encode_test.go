package parser

import (
	"encoding/json"
	"errors"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestAppendValueStrings(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"", `""`},
		{"plain", `"plain"`},
		// JSON.stringify: no HTML escaping, U+2028/U+2029 literal.
		{"<>&\u2028\u2029", "\"<>&\u2028\u2029\""},
		{"\n\r\t\b\f", `"\n\r\t\b\f"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f\""},
		{`"\/`, `"\"\\/"`},
		{"é😀", `"é😀"`},
		{"a\xffb", `"a\ufffdb"`},
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`}, // WTF-8 surrogate: invalid UTF-8
	}
	for _, tt := range tests {
		got, err := AppendValue(nil, tt.in, nil)
		if err != nil || string(got) != tt.want {
			t.Errorf("AppendValue(%q) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
		// The same through reflection and through encoding/json.
		type named string
		got, err = AppendValue(nil, named(tt.in), nil)
		if err != nil || string(got) != tt.want {
			t.Errorf("AppendValue(named(%q)) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
		got, err = AppendValue(nil, struct{ S string }{tt.in}, nil)
		if want := `{"S":` + tt.want + `}`; err != nil || string(got) != want {
			t.Errorf("AppendValue(struct{%q}) = %s, %v; want %s", tt.in, got, err, want)
		}
		got, err = AppendValue(nil, map[string]string{tt.in: tt.in}, nil)
		if want := `{` + tt.want + `:` + tt.want + `}`; err != nil || string(got) != want {
			t.Errorf("AppendValue(map{%q}) = %s, %v; want %s", tt.in, got, err, want)
		}
	}
}

func TestAppendValueNumbers(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{0, `0`}, {-7, `-7`}, {int8(-128), `-128`}, {int16(300), `300`}, {int32(-5), `-5`},
		{int64(math.MaxInt64), `9223372036854775807`}, {uint(7), `7`}, {uint8(255), `255`},
		{uint16(1), `1`}, {uint32(2), `2`}, {uint64(math.MaxUint64), `18446744073709551615`}, {uintptr(3), `3`},
		// Outputs of node's JSON.stringify.
		{1e21, `1e+21`}, {1e20, `100000000000000000000`}, {1e-7, `1e-7`}, {1e-6, `0.000001`},
		{123456789012345680000.0, `123456789012345680000`}, {0.1, `0.1`}, {math.Copysign(0, -1), `0`},
		{1.5e300, `1.5e+300`}, {5e-324, `5e-324`}, {9007199254740994.0, `9007199254740994`},
		{9.9e-7, `9.9e-7`}, {math.MaxFloat64, `1.7976931348623157e+308`}, {-2.5, `-2.5`},
		{float32(0.1), `0.1`}, {float32(1e21), `1e+21`},
		{json.Number("12.50"), `12.50`}, {json.Number(""), `0`},
		{true, `true`}, {false, `false`}, {nil, `null`},
	}
	for _, tt := range tests {
		got, err := AppendValue(nil, tt.in, nil)
		if err != nil || string(got) != tt.want {
			t.Errorf("AppendValue(%T %v) = %s, %v; want %s", tt.in, tt.in, got, err, tt.want)
		}
	}
}

type inner struct {
	Blob []byte `json:"blob"`
	N    int    `json:"n,omitempty"`
}

type withBinary struct {
	Name   string            `json:"name"`
	Data   []byte            `json:"data"`
	Ptr    *inner            `json:"ptr,omitempty"`
	Any    any               `json:"any"`
	Map    map[string][]byte `json:"map,omitempty"`
	List   [][]byte          `json:"list,omitempty"`
	Skip   []byte            `json:"-"`
	hidden []byte
	Count  int `json:"count,string"`
	Empty  any `json:",omitempty"`
}

type noBinary struct {
	A string    `json:"a"`
	B float64   `json:"b,omitempty"`
	T time.Time `json:"t"`
	M map[string]int
}

type marshalsBytes struct{ B []byte }

func (m marshalsBytes) MarshalJSON() ([]byte, error) {
	return []byte(` { "custom" : "` + string(m.B) + `" } `), nil
}

type ptrMarshaler struct{ B []byte }

func (m *ptrMarshaler) MarshalJSON() ([]byte, error) { return []byte(`"ptr"`), nil }

type Embedded struct {
	E   []byte
	Dup int
}

type embedder struct {
	Embedded
	*inner
	Own string `json:"own"`
	Dup string
}

func TestAppendValueBinary(t *testing.T) {
	b0, b1, b2, b3, b4 := []byte{0}, []byte{1}, []byte{2}, []byte{3}, []byte{4}
	tests := []struct {
		name string
		in   any
		want string
		atts [][]byte
	}{
		{"top level", b0, `{"_placeholder":true,"num":0}`, [][]byte{b0}},
		{"empty", []byte{}, `{"_placeholder":true,"num":0}`, [][]byte{{}}},
		{"nil bytes", []byte(nil), `null`, nil},
		{"slice", []any{"x", b0, []any{b1}}, `["x",{"_placeholder":true,"num":0},[{"_placeholder":true,"num":1}]]`, [][]byte{b0, b1}},
		{"map sorted", map[string]any{"z": b0, "a": b1, "m": map[string]any{"k": b2}},
			`{"a":{"_placeholder":true,"num":0},"m":{"k":{"_placeholder":true,"num":1}},"z":{"_placeholder":true,"num":2}}`,
			[][]byte{b1, b2, b0}},
		{"typed map", map[string][]byte{"b": b1, "a": b0}, `{"a":{"_placeholder":true,"num":0},"b":{"_placeholder":true,"num":1}}`, [][]byte{b0, b1}},
		{"int keys", map[int][]byte{10: b1, 9: b0}, `{"10":{"_placeholder":true,"num":0},"9":{"_placeholder":true,"num":1}}`, [][]byte{b1, b0}},
		{"text keys", map[netip.Addr]any{netip.MustParseAddr("10.0.0.1"): b0}, `{"10.0.0.1":{"_placeholder":true,"num":0}}`, [][]byte{b0}},
		{"pointer", &b0, `{"_placeholder":true,"num":0}`, [][]byte{b0}},
		{"array of bytes", [2][]byte{b0, b1}, `[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, [][]byte{b0, b1}},
		{"byte array is numbers", [2]byte{1, 2}, `[1,2]`, nil},
		{"raw message is not binary", json.RawMessage(`{"a": [1, 2]}`), `{"a":[1,2]}`, nil},
		{"struct", withBinary{
			Name: "n", Data: b0, Ptr: &inner{Blob: b1}, Any: []any{b2},
			Map: map[string][]byte{"k": b3}, List: [][]byte{b4}, Skip: b4, hidden: b4, Count: 5,
		}, `{"name":"n","data":{"_placeholder":true,"num":0},"ptr":{"blob":{"_placeholder":true,"num":1}},` +
			`"any":[{"_placeholder":true,"num":2}],"map":{"k":{"_placeholder":true,"num":3}},"list":[{"_placeholder":true,"num":4}],"count":"5"}`,
			[][]byte{b0, b1, b2, b3, b4}},
		{"struct zero", withBinary{}, `{"name":"","data":null,"any":null,"count":"0"}`, nil},
		{"struct in interface", []any{&inner{Blob: b0, N: 1}}, `[{"blob":{"_placeholder":true,"num":0},"n":1}]`, [][]byte{b0}},
		{"embedded", embedder{Embedded: Embedded{E: b0, Dup: 1}, inner: &inner{Blob: b1}, Own: "o", Dup: "top"},
			`{"E":{"_placeholder":true,"num":0},"blob":{"_placeholder":true,"num":1},"own":"o","Dup":"top"}`, [][]byte{b0, b1}},
		{"embedded nil pointer", embedder{Own: "o"}, `{"E":null,"own":"o","Dup":""}`, nil},
		{"struct without binary", noBinary{A: "<&>\u2028", T: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
			"{\"a\":\"<&>\u2028\",\"t\":\"2024-01-02T03:04:05Z\",\"M\":null}", nil},
		{"marshaler", marshalsBytes{B: []byte("x")}, `{"custom":"x"}`, nil},
		{"marshaler in slice", []any{marshalsBytes{B: []byte("y")}, b0}, `[{"custom":"y"},{"_placeholder":true,"num":0}]`, [][]byte{b0}},
		{"pointer marshaler addressable", &struct{ P ptrMarshaler }{}, `{"P":"ptr"}`, nil},
		{"pointer marshaler by value", struct {
			P ptrMarshaler
			X any
		}{P: ptrMarshaler{B: b0}}, `{"P":{"B":{"_placeholder":true,"num":0}},"X":null}`, [][]byte{b0}},
		{"time in binary struct", struct {
			T time.Time
			B []byte
		}{time.Unix(0, 0).UTC(), b0}, `{"T":"1970-01-01T00:00:00Z","B":{"_placeholder":true,"num":0}}`, [][]byte{b0}},
		{"nil any", []any{nil, map[string]any(nil), []any(nil)}, `[null,null,null]`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var atts [][]byte
			got, err := AppendValue([]byte("x"), tt.in, &atts)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "x"+tt.want {
				t.Errorf("got  %s\nwant x%s", got, tt.want)
			}
			if !reflect.DeepEqual(atts, tt.atts) {
				t.Errorf("attachments %v, want %v", atts, tt.atts)
			}
		})
	}
}

func TestAppendValueContinuesNumbering(t *testing.T) {
	atts := [][]byte{{9}}
	got, err := AppendValue(nil, []any{[]byte{1}}, &atts)
	if err != nil || string(got) != `[{"_placeholder":true,"num":1}]` || len(atts) != 2 {
		t.Errorf("%s %v %v", got, atts, err)
	}
}

func TestAppendArray(t *testing.T) {
	var atts [][]byte
	got, err := AppendArray(nil, &atts, "message-back", 1, "2", map[string]any{"3": []any{true}}, []byte{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	want := `["message-back",1,"2",{"3":[true]},{"_placeholder":true,"num":0}]`
	if string(got) != want || len(atts) != 1 {
		t.Errorf("got %s %v", got, atts)
	}
	got, err = AppendArray(nil, nil)
	if err != nil || string(got) != `[]` {
		t.Errorf("empty: %s %v", got, err)
	}
	p := Packet{Type: Event, Namespace: "/", ID: NoID}
	p.Data, _ = AppendArray(nil, &p.Attachments, "baz", []byte{1, 2, 3, 4})
	if s := string(p.AppendText(nil)); s != `51-["baz",{"_placeholder":true,"num":0}]` {
		t.Errorf("packet %s", s)
	}
}

type cyclic struct {
	Next *cyclic
	B    []byte
}

func TestAppendValueErrors(t *testing.T) {
	c := &cyclic{}
	c.Next = c
	m := map[string]any{}
	m["m"] = m
	sl := make([]any, 1)
	sl[0] = sl
	deep := any(nil)
	for range 2000 {
		deep = []any{deep}
	}
	tests := []struct {
		name string
		in   any
		as   any // pointer to an error type errors.As must find
	}{
		{"NaN", math.NaN(), new(*json.UnsupportedValueError)},
		{"Inf", math.Inf(1), new(*json.UnsupportedValueError)},
		{"NaN in slice", []any{1, math.Inf(-1)}, new(*json.UnsupportedValueError)},
		{"float32 NaN", float32(math.NaN()), new(*json.UnsupportedValueError)},
		{"channel", make(chan int), new(*json.UnsupportedTypeError)},
		{"func", func() {}, new(*json.UnsupportedTypeError)},
		{"complex", complex(1, 2), new(*json.UnsupportedTypeError)},
		{"func in struct", struct {
			F func()
			B []byte
		}{}, new(*json.UnsupportedTypeError)},
		{"chan in binary-free struct", struct{ C chan int }{}, new(*json.UnsupportedTypeError)},
		{"bad map key", map[[2]int]any{{1, 2}: 1}, new(*json.UnsupportedTypeError)},
		{"cyclic struct", c, nil},
		{"cyclic map", m, nil},
		{"cyclic slice", sl, nil},
		{"too deep", deep, nil},
		{"bad raw message", json.RawMessage(`{"a":}`), nil},
		{"bad number", json.Number("1x"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			atts := [][]byte{{7}}
			got, err := AppendArray([]byte("prefix"), &atts, []byte{1}, tt.in)
			if err == nil {
				t.Fatalf("no error, got %s", got)
			}
			if !strings.HasPrefix(err.Error(), "socketio/parser: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if tt.as != nil && !errors.As(err, tt.as) {
				t.Errorf("error %v is not a %T", err, tt.as)
			}
			if string(got) != "prefix" || len(atts) != 1 {
				t.Errorf("not rolled back: %q %v", got, atts)
			}
		})
	}
	if _, err := AppendValue(nil, []byte{1}, nil); err == nil {
		t.Error("[]byte without attachment list: no error")
	}
}

func TestAppendValueLoneSurrogateRaw(t *testing.T) {
	// A raw element keeps its escapes byte for byte.
	raw := json.RawMessage(`"\ud800"`)
	got, err := AppendArray(nil, nil, "m", raw)
	if err != nil || string(got) != `["m","\ud800"]` {
		t.Errorf("%s %v", got, err)
	}
}

// The struct rules of the reflection encoder must match encoding/json. An
// interface field forces the reflection path; a nil one encodes as null
// both ways.
type (
	E1 struct {
		A int `json:"a"`
		B string
		C int `json:"c"`
	}
	E2 struct {
		A int // "A", distinct from E1's "a"
		B string
		D int `json:"d,omitempty"`
	}
	E3 struct {
		E1
		X any
	}
	zeroer  struct{ V int }
	shapes1 struct {
		E1
		E2
		X    any
		Own  int       `json:"own,string"`
		OwnP *int      `json:",string"`
		F    float64   `json:"f,string"`
		S    string    `json:"s,string"`
		Bo   bool      `json:"bo,string"`
		OE   []int     `json:"oe,omitempty"`
		OZ   time.Time `json:"oz,omitzero"`
		OZ2  zeroer    `json:"oz2,omitzero"`
		OZ3  *zeroer   `json:"oz3,omitzero"`
		//lint:ignore SA5008 testing encoding/json's handling of the "-," tag
		Dash int `json:"-,"`
		//lint:ignore SA5008 testing an invalid field name
		Bad        int `json:"a\\b"`
		Unicode    int `json:"ünï"`
		Deep       E3
		Anon       struct{ Q int }
		M          map[int]string
		Arr        [2]bool
		unexported int //lint:ignore U1000 an unexported field must be skipped
	}
)

func (z zeroer) IsZero() bool { return z.V == 42 }

func TestStructRulesMatchEncodingJSON(t *testing.T) {
	one := 1
	values := []any{
		shapes1{},
		shapes1{E1: E1{A: 1, B: "b1", C: 3}, E2: E2{A: 2, B: "b2", D: 4}, Own: 5, OwnP: &one, F: 1.5, S: "s<", Bo: true,
			OE: []int{1}, OZ: time.Unix(1, 0).UTC(), OZ2: zeroer{42}, OZ3: &zeroer{1}, Dash: 7, Bad: 8, Unicode: 9,
			Deep: E3{E1: E1{A: 10}}, M: map[int]string{2: "b", 10: "a"}, Arr: [2]bool{true, false}},
	}
	for _, v := range values {
		got, err := AppendValue(nil, v, nil)
		if err != nil {
			t.Fatal(err)
		}
		var sb strings.Builder
		enc := json.NewEncoder(&sb)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		if want := strings.TrimSuffix(sb.String(), "\n"); string(got) != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}
