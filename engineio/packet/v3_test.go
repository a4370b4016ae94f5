package packet

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"unicode/utf8"
)

// v3Vector is one case of testdata/v3-vectors.json, written by the official
// engine.io-parser 2.2.1 (interop/v2/gen-v3-vectors.cjs).
type v3Vector struct {
	Packets []struct {
		Type   Type   `json:"type"`
		Binary bool   `json:"binary"`
		Data   string `json:"data"` // base64
	} `json:"packets"`
	Text          string `json:"text"`
	BinaryPayload string `json:"binaryPayload"` // base64
	Frames        []struct {
		Text   *string `json:"text"`
		Binary string  `json:"binary"` // base64
	} `json:"frames"`
	Base64Frames []string `json:"base64Frames"`
}

func loadV3Vectors(t *testing.T) []v3Vector {
	t.Helper()
	b, err := os.ReadFile("testdata/v3-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []v3Vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatal("no vectors")
	}
	return vs
}

func (v v3Vector) packets(t *testing.T) []Packet {
	var out []Packet
	for _, p := range v.Packets {
		data, err := base64.StdEncoding.DecodeString(p.Data)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) == 0 && !p.Binary {
			data = nil
		}
		out = append(out, Packet{Type: p.Type, Binary: p.Binary, Data: data})
	}
	return out
}

func samePackets(t *testing.T, what string, got, want []Packet) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d packets, want %d: %+v", what, len(got), len(want), got)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Type != w.Type || g.Binary != w.Binary || !bytes.Equal(g.Data, w.Data) {
			t.Fatalf("%s: packet %d: got %+v, want %+v", what, i, g, w)
		}
	}
}

func collect(t *testing.T, decode func([]byte, func(Packet) error) error, body []byte) []Packet {
	t.Helper()
	var got []Packet
	err := decode(body, func(p Packet) error {
		p.Data = bytes.Clone(p.Data)
		got = append(got, p)
		return nil
	})
	if err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return got
}

// TestV3Vectors checks the v3 encoders against the official parser's output
// and decodes that output back.
func TestV3Vectors(t *testing.T) {
	for i, v := range loadV3Vectors(t) {
		pkts := v.packets(t)

		text, bin := AppendPayloadV3(nil, pkts, false)
		if bin || string(text) != v.Text {
			t.Errorf("case %d: text payload %q (binary %v), want %q", i, text, bin, v.Text)
		}
		// Empty packets are skipped by the text decoder (as by the
		// official one); the vectors have none.
		samePackets(t, "text payload", collect(t, DecodePayloadV3, []byte(v.Text)), pkts)

		wantBin, _ := base64.StdEncoding.DecodeString(v.BinaryPayload)
		hasBinary := false
		for _, p := range pkts {
			hasBinary = hasBinary || p.Binary
		}
		got, isBin := AppendPayloadV3(nil, pkts, true)
		if isBin != hasBinary {
			t.Errorf("case %d: binary payload chosen %v, want %v", i, isBin, hasBinary)
		}
		if isBin && !bytes.Equal(got, wantBin) {
			t.Errorf("case %d: binary payload\n got %v\nwant %v", i, got, wantBin)
		}
		samePackets(t, "binary payload", collect(t, DecodeBinaryPayloadV3, wantBin), pkts)

		for j, p := range pkts {
			f := v.Frames[j]
			if f.Text != nil {
				if p.Binary || string(AppendTextV3(nil, p)) != *f.Text {
					t.Errorf("case %d packet %d: text frame %q, want %q", i, j, AppendTextV3(nil, p), *f.Text)
				}
				dp, err := DecodeTextV3([]byte(*f.Text))
				if err != nil {
					t.Fatal(err)
				}
				samePackets(t, "text frame", []Packet{dp}, []Packet{p})
			} else {
				want, _ := base64.StdEncoding.DecodeString(f.Binary)
				if !p.Binary || !bytes.Equal(AppendBinaryFrameV3(nil, p), want) {
					t.Errorf("case %d packet %d: binary frame %v, want %v", i, j, AppendBinaryFrameV3(nil, p), want)
				}
				dp, err := DecodeBinaryFrameV3(want)
				if err != nil {
					t.Fatal(err)
				}
				samePackets(t, "binary frame", []Packet{dp}, []Packet{p})
			}
			if got := string(AppendTextV3(nil, p)); got != v.Base64Frames[j] {
				t.Errorf("case %d packet %d: base64 frame %q, want %q", i, j, got, v.Base64Frames[j])
			}
		}
	}
}

func TestV3InvalidPayloads(t *testing.T) {
	text := []string{
		"",         // empty body
		"4",        // no length
		":4hello",  // empty length
		"6:4hell",  // too short
		"x:4",      // not a number
		"2:9x",     // unknown type
		"3:b9AA",   // unknown binary type
		"5:b4A!==", // bad base64
		"99999999999:4",
		"2:😀",       // the length ends inside a surrogate pair
		"1:4" + "1", // trailing garbage without a colon
	}
	for _, s := range text {
		if err := DecodePayloadV3([]byte(s), func(Packet) error { return nil }); !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("DecodePayloadV3(%q) = %v, want ErrInvalidPacket", s, err)
		}
	}
	binary := [][]byte{
		{2, 1, 255, '4'},      // bad marker
		{0, 255, '4'},         // no length
		{0, 5, 255, '4'},      // too short
		{0, 1, 12, 255, '4'},  // a length byte over 9
		{0, 1},                // no 255
		{0, 1, 255, 0xff},     // invalid UTF-8 text
		{1, 1, 255, 9},        // unknown binary type
		{0, 2, 255, '9', 'x'}, // unknown text type
		{0, 0, 255},           // an empty packet
	}
	for _, b := range binary {
		if err := DecodeBinaryPayloadV3(b, func(Packet) error { return nil }); !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("DecodeBinaryPayloadV3(%v) = %v, want ErrInvalidPacket", b, err)
		}
	}
}

func TestUTF16Len(t *testing.T) {
	for s, want := range map[string]int{"": 0, "abc": 3, "é": 1, "中文": 2, "😀": 2, "a😀b": 4, "\xff": 1} {
		if got := UTF16Len([]byte(s)); got != want {
			t.Errorf("UTF16Len(%q) = %d, want %d", s, got, want)
		}
	}
}

// FuzzDecodePayloadV3 checks that the v3 text payload decoder never
// panics and that what it accepts re-encodes to an equivalent payload.
func FuzzDecodePayloadV3(f *testing.F) {
	for _, s := range []string{"5:4hell", "6:4hello2:40", "1:2", "6:b4AQI=", "3:4😀", "0:1:6"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var pkts []Packet
		err := DecodePayloadV3(body, func(p Packet) error {
			p.Data = bytes.Clone(p.Data)
			pkts = append(pkts, p)
			return nil
		})
		if err != nil {
			if !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("error %v does not wrap ErrInvalidPacket", err)
			}
			return
		}
		if !utf8.Valid(body) {
			return // lengths of invalid UTF-8 are counted per byte, not re-encodable
		}
		enc, bin := AppendPayloadV3(nil, pkts, false)
		if bin {
			t.Fatal("text payload re-encoded as binary")
		}
		var again []Packet
		if len(pkts) > 0 {
			again = collect(t, DecodePayloadV3, enc)
		}
		samePackets(t, "re-decoded", again, pkts)
	})
}

// FuzzDecodeBinaryPayloadV3 does the same for the binary payload decoder.
func FuzzDecodeBinaryPayloadV3(f *testing.F) {
	f.Add([]byte{0, 6, 255, '4', 'h', 'e', 'l', 'l', 'o'})
	f.Add([]byte{1, 3, 255, 4, 1, 2, 0, 1, 255, '2'})
	f.Fuzz(func(t *testing.T, body []byte) {
		var pkts []Packet
		err := DecodeBinaryPayloadV3(body, func(p Packet) error {
			p.Data = bytes.Clone(p.Data)
			pkts = append(pkts, p)
			return nil
		})
		if err != nil {
			if !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("error %v does not wrap ErrInvalidPacket", err)
			}
			return
		}
		for _, p := range pkts {
			if p.Binary {
				enc, bin := AppendPayloadV3(nil, pkts, true)
				if !bin {
					t.Fatal("payload with a binary packet encoded as text")
				}
				samePackets(t, "re-decoded", collect(t, DecodeBinaryPayloadV3, enc), pkts)
				return
			}
		}
	})
}
