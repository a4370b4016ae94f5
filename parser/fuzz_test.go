package parser

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func addGoldenSeeds(f *testing.F) {
	for _, r := range goldenRows {
		f.Add(r.wire)
	}
	for _, s := range []string{
		`40/random`[1:], `2["\u0063onnect"]`, `51-["a",{"_placeholder":true,"num":0.0}]`, `2[1e400]`,
		`511-["a"]`, `42abc[1]`[1:], `2["a",{"k":[1,{"x":null}]}]`, `2 ["a"] `, `0/a,5{}`, `50-["a"]`,
	} {
		f.Add(s)
	}
}

// checkPacket verifies the invariants of a decoded packet, then that
// encoding it and decoding the result gives the same packet.
func checkPacket(t *testing.T, d *Decoder, p *Packet) {
	t.Helper()
	if p.Namespace == "" || p.Namespace[0] != '/' || strings.IndexByte(p.Namespace, ',') >= 0 {
		t.Fatalf("namespace %q", p.Namespace)
	}
	if p.ID < NoID || p.ID > MaxID {
		t.Fatalf("id %d", p.ID)
	}
	if p.Data != nil {
		if !json.Valid(p.Data) {
			t.Fatalf("invalid JSON data %q", p.Data)
		}
		if !bytes.Equal(p.Data, bytes.TrimSpace(p.Data)) {
			t.Fatalf("data not trimmed: %q", p.Data)
		}
	}
	switch p.Type {
	case Event, BinaryEvent:
		name, err := EventName(p.Data)
		if err != nil || IsReservedEvent(name) {
			t.Fatalf("event name %q, %v", name, err)
		}
		fallthrough
	case Ack, BinaryAck:
		elems, err := SplitArray(nil, p.Data)
		if err != nil {
			t.Fatalf("SplitArray(%q): %v", p.Data, err)
		}
		if _, _, err := ReindexAttachments(elems, p.Attachments); err != nil {
			t.Fatalf("ReindexAttachments: %v", err)
		}
		var v []any
		if err := DecodeValue(p.Data, p.Attachments, &v); err != nil {
			// encoding/json cannot hold numbers beyond float64 (1e400),
			// which JavaScript reads as Infinity.
			if !isNumberRange(err) {
				t.Fatalf("DecodeValue(%q): %v", p.Data, err)
			}
		} else {
			// Relaying the elements as RawValues gives the same values.
			vals := make([]any, len(elems))
			for i, el := range elems {
				vals[i] = RawValue{JSON: el, Attachments: p.Attachments}
			}
			var atts [][]byte
			out, err := AppendArray(nil, &atts, vals...)
			if err != nil {
				t.Fatalf("relaying %q: %v", p.Data, err)
			}
			var w []any
			if err := DecodeValue(out, atts, &w); err != nil || !reflect.DeepEqual(v, w) {
				t.Fatalf("relayed %q as %q: %v", p.Data, out, err)
			}
		}
	}
	wire := p.AppendText(nil)
	q, err := d.DecodeText(wire)
	for i := 0; err == nil && q == nil && i < len(p.Attachments); i++ {
		q, err = d.DecodeBinary(p.Attachments[i])
	}
	if err != nil || q == nil {
		t.Fatalf("re-decoding %q: %v, %v", wire, q, err)
	}
	if want := normalize(*p); !reflect.DeepEqual(*q, want) {
		t.Fatalf("re-decoding %q:\n got %+v\nwant %+v", wire, *q, want)
	}
}

func FuzzDecodeText(f *testing.F) {
	addGoldenSeeds(f)
	f.Fuzz(func(t *testing.T, msg string) {
		var d Decoder
		p, err := d.DecodeText([]byte(msg))
		if err != nil {
			if d.Pending() {
				t.Fatal("pending after an error")
			}
			return
		}
		if p == nil {
			// A binary packet: complete it with placeholder bytes.
			for i := 0; p == nil; i++ {
				if p, err = d.DecodeBinary([]byte{byte(i)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		checkPacket(t, &d, p)
	})
}

func FuzzBinaryReassembly(f *testing.F) {
	for _, r := range goldenRows {
		f.Add(r.wire, bytes.Join(r.p.Attachments, nil), uint8(len(r.p.Attachments)))
	}
	f.Add(`52-["a",{"_placeholder":true,"num":1}]`, []byte{1, 2, 3}, uint8(3))
	f.Fuzz(func(t *testing.T, msg string, bin []byte, parts uint8) {
		var d Decoder
		p, err := d.DecodeText([]byte(msg))
		if err != nil || p != nil {
			return
		}
		// Feed bin cut into parts messages; more than needed is an error.
		n := max(int(parts%16), 1)
		for i := range n {
			chunk := bin[len(bin)*i/n : len(bin)*(i+1)/n]
			p, err = d.DecodeBinary(chunk)
			if err != nil {
				t.Fatalf("attachment %d: %v", i, err)
			}
			if p != nil {
				if i != n-1 {
					if _, err := d.DecodeBinary(chunk); err == nil {
						t.Fatal("extra attachment accepted")
					}
				}
				break
			}
		}
		if p == nil {
			if !d.Pending() {
				t.Fatal("neither complete nor pending")
			}
			if _, err := d.DecodeText([]byte(`2["a"]`)); err == nil {
				t.Fatal("text accepted while pending")
			}
			return
		}
		checkPacket(t, &d, p)
	})
}

func FuzzSplitArray(f *testing.F) {
	for _, s := range []string{`[]`, `[1,"a",{"b":[2]}]`, ` [ "a,]" , [ ] ] `, `["\"",null]`, `[1,]`, `{}`, `[[[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		elems, err := SplitArray(nil, raw)
		if len(raw) > 5000 {
			return // encoding/json's nesting limit differs
		}
		trimmed := bytes.TrimLeft(raw, " \t\r\n")
		want := json.Valid(raw) && len(trimmed) > 0 && trimmed[0] == '['
		if (err == nil) != want {
			t.Fatalf("SplitArray(%q): err %v, json.Valid %v", raw, err, json.Valid(raw))
		}
		if err != nil {
			return
		}
		var ref []json.RawMessage
		if err := json.Unmarshal(raw, &ref); err != nil {
			t.Fatal(err)
		}
		if len(ref) != len(elems) {
			t.Fatalf("%d elements, encoding/json finds %d", len(elems), len(ref))
		}
		for i := range ref {
			if !bytes.Equal(ref[i], elems[i]) {
				t.Fatalf("element %d: %q, encoding/json %q", i, elems[i], ref[i])
			}
		}
		// Rebuilding the array from its elements gives the same value.
		vals := make([]any, len(elems))
		for i, e := range elems {
			vals[i] = json.RawMessage(e)
		}
		out, err := AppendArray(nil, nil, vals...)
		if err != nil {
			t.Fatal(err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil || !bytes.Equal(compact.Bytes(), out) {
			t.Fatalf("rebuilt %q from %q, json.Compact gives %q", out, raw, compact.Bytes())
		}
	})
}

// isNumberRange reports whether err is encoding/json's error for a number
// that does not fit a float64.
func isNumberRange(err error) bool {
	var ute *json.UnmarshalTypeError
	return errors.As(err, &ute) && strings.HasPrefix(ute.Value, "number")
}

func FuzzDecodeValue(f *testing.F) {
	for _, s := range []string{
		`{"_placeholder":true,"num":0}`, `[{"_placeholder":true,"num":1},"x"]`, `"AQID"`, `null`,
		`{"name":"n","data":{"_placeholder":true,"num":0},"list":[{"_placeholder":true,"num":1}]}`,
		`{"\u005fplaceholder":true,"num":0}`, `"\ud800"`, `[1,2`, `[1e400]`, "2" + strings.Repeat("0", 400),
	} {
		f.Add([]byte(s), uint8(2))
	}
	f.Add([]byte(strings.Repeat("[", 1500)+strings.Repeat("]", 1500)), uint8(0))
	f.Fuzz(func(t *testing.T, raw []byte, n uint8) {
		atts := make([][]byte, n%4)
		for i := range atts {
			atts[i] = []byte{byte(i)}
		}
		var v any
		err := DecodeValue(raw, atts, &v)
		if isNumberRange(err) {
			return // a number beyond float64, which encoding/json rejects
		}
		if len(raw) < 5000 && (err == nil) != json.Valid(raw) {
			t.Fatalf("DecodeValue(%q) into any: %v, json.Valid %v", raw, err, json.Valid(raw))
		}
		if err == nil && len(atts) == 0 {
			var ref any
			_ = json.Unmarshal(raw, &ref)
			if !reflect.DeepEqual(v, ref) {
				t.Fatalf("without attachments: %#v, encoding/json %#v", v, ref)
			}
		}
		var r json.RawMessage
		if err := DecodeValue(raw, atts, &r); err == nil && !json.Valid(r) {
			t.Fatalf("raw message %q", r)
		}
		var b []byte
		_ = DecodeValue(raw, atts, &b)
		var s withBytes
		_ = DecodeValue(raw, atts, &s)
		var str string
		if err := DecodeValue(raw, atts, &str); err == nil && (len(atts) == 0 || !HasPlaceholders(raw)) {
			var ref string
			if json.Unmarshal(raw, &ref) != nil || ref != str {
				t.Fatalf("string %q, encoding/json %q", str, ref)
			}
		}
		// Re-encoding a decoded value gives the same placeholders.
		if err == nil {
			var out [][]byte
			enc, err := AppendValue(nil, v, &out)
			if errors.Is(err, errTooDeepValue) {
				return // deeper than AppendValue follows
			}
			if err != nil {
				t.Fatalf("AppendValue(%#v): %v", v, err)
			}
			var back any
			if err := DecodeValue(enc, out, &back); err != nil || !reflect.DeepEqual(back, v) {
				t.Fatalf("re-decoding %q: %#v, %v; want %#v", enc, back, err, v)
			}
		}
	})
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "<>&\u2028\u2029", "\x00\x1f\x7f", "a\xffb", "é😀", `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := AppendValue(nil, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q: %v", got, err)
		}
		// encoding/json escapes more (HTML, U+2028/9) but decodes the same.
		ref, _ := json.Marshal(s)
		var refBack string
		_ = json.Unmarshal(ref, &refBack)
		if back != refBack {
			t.Fatalf("%q decodes to %q, encoding/json's to %q", got, back, refBack)
		}
	})
}
