package packet

import (
	"bytes"
	"errors"
	"testing"
)

func TestTextRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		pkt  Packet
		wire string
	}{
		{"open", Packet{Type: Open, Data: []byte(`{"sid":"abc"}`)}, `0{"sid":"abc"}`},
		{"close", Packet{Type: Close}, "1"},
		{"ping", Packet{Type: Ping}, "2"},
		{"probe", Packet{Type: Ping, Data: []byte("probe")}, "2probe"},
		{"pong", Packet{Type: Pong}, "3"},
		{"pong probe", Packet{Type: Pong, Data: []byte("probe")}, "3probe"},
		{"message", Packet{Type: Message, Data: []byte("hello")}, "4hello"},
		{"unicode message", Packet{Type: Message, Data: []byte("€ 😀")}, "4€ 😀"},
		{"empty message", Packet{Type: Message}, "4"},
		{"upgrade", Packet{Type: Upgrade}, "5"},
		{"noop", Packet{Type: Noop}, "6"},
		{"binary", Packet{Type: Message, Binary: true, Data: []byte{1, 2, 3, 4}}, "bAQIDBA=="},
		{"empty binary", Packet{Type: Message, Binary: true, Data: []byte{}}, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(tt.pkt.AppendText(nil))
			if got != tt.wire {
				t.Fatalf("encode: got %q, want %q", got, tt.wire)
			}
			p, err := DecodeText([]byte(tt.wire))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if p.Type != tt.pkt.Type || p.Binary != tt.pkt.Binary || !bytes.Equal(p.Data, tt.pkt.Data) {
				t.Fatalf("decode: got %+v, want %+v", p, tt.pkt)
			}
		})
	}
}

func TestDecodeTextErrors(t *testing.T) {
	for _, wire := range []string{"", "7", "abc", "x", "9hello", "b!!!", "bAQI"} {
		if _, err := DecodeText([]byte(wire)); !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("DecodeText(%q): got %v, want ErrInvalidPacket", wire, err)
		}
	}
}

func TestPayload(t *testing.T) {
	pkts := []Packet{
		{Type: Message, Data: []byte("test1")},
		{Type: Message, Data: []byte("test2")},
		{Type: Message, Binary: true, Data: []byte{1, 2, 3, 4}},
		{Type: Ping},
	}
	const wire = "4test1\x1e4test2\x1ebAQIDBA==\x1e2"
	got := AppendPayload(nil, pkts)
	if string(got) != wire {
		t.Fatalf("AppendPayload: got %q, want %q", got, wire)
	}
	if n := PayloadLen(pkts); n != len(wire) {
		t.Fatalf("PayloadLen: got %d, want %d", n, len(wire))
	}
	var dec []Packet
	if err := DecodePayload([]byte(wire), func(p Packet) error {
		dec = append(dec, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(dec) != len(pkts) {
		t.Fatalf("decoded %d packets, want %d", len(dec), len(pkts))
	}
	for i := range pkts {
		if dec[i].Type != pkts[i].Type || dec[i].Binary != pkts[i].Binary || !bytes.Equal(dec[i].Data, pkts[i].Data) {
			t.Errorf("packet %d: got %+v, want %+v", i, dec[i], pkts[i])
		}
	}
}

func TestDecodePayloadErrors(t *testing.T) {
	for _, wire := range []string{"", "\x1e", "4a\x1e", "4a\x1e\x1e4b", "4a\x1eabc", "abc"} {
		err := DecodePayload([]byte(wire), func(Packet) error { return nil })
		if !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("DecodePayload(%q): got %v, want ErrInvalidPacket", wire, err)
		}
	}
	stop := errors.New("stop")
	n := 0
	err := DecodePayload([]byte("4a\x1e4b\x1e4c"), func(Packet) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Fatalf("callback error: got %v after %d packets", err, n)
	}
}

func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{"4hello", "4test1\x1e4test2\x1e4test3", "4hello\x1ebAQIDBA==", "2probe", "abc", "", "b", "6\x1e1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var pkts []Packet
		err := DecodePayload(body, func(p Packet) error {
			pkts = append(pkts, Packet{Type: p.Type, Binary: p.Binary, Data: bytes.Clone(p.Data)})
			return nil
		})
		if err != nil {
			if !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("unexpected error type: %v", err)
			}
			return
		}
		// Re-encoding a decoded payload and decoding it again is stable.
		enc := AppendPayload(nil, pkts)
		var again []Packet
		if err := DecodePayload(enc, func(p Packet) error {
			again = append(again, p)
			return nil
		}); err != nil {
			t.Fatalf("re-decode of %q: %v", enc, err)
		}
		if len(again) != len(pkts) {
			t.Fatalf("re-decode: %d packets, want %d", len(again), len(pkts))
		}
		for i := range pkts {
			if again[i].Type != pkts[i].Type || again[i].Binary != pkts[i].Binary || !bytes.Equal(again[i].Data, pkts[i].Data) {
				t.Fatalf("packet %d changed: %+v vs %+v", i, again[i], pkts[i])
			}
		}
	})
}

func BenchmarkAppendPayload(b *testing.B) {
	pkts := []Packet{
		{Type: Message, Data: []byte(`2["chat message","hello world"]`)},
		{Type: Ping},
		{Type: Message, Binary: true, Data: make([]byte, 64)},
	}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendPayload(buf[:0], pkts)
	}
}
