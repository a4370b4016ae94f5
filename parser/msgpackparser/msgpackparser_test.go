package msgpackparser

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/socketio-go/socketio/parser"
)

func TestRoundTrip(t *testing.T) {
	for _, p := range encodeCases {
		msgs, err := Parser{}.Encode(nil, p)
		if err != nil {
			t.Fatalf("%v: %v", p.Type, err)
		}
		if len(msgs) != 1 || !msgs[0].Binary {
			t.Fatalf("%v: %d messages, binary %v; want one binary message", p.Type, len(msgs), msgs[0].Binary)
		}
		dec := Parser{}.NewDecoder(parser.Limits{})
		got, err := dec.Decode(msgs[0].Data, true)
		if err != nil {
			t.Fatalf("%v %s: %v", p.Type, trunc(p.Data), err)
		}
		wantType := p.Type
		if wantType == parser.BinaryEvent {
			wantType = parser.Event
		}
		if got.Type != wantType || got.Namespace != p.Namespace || got.ID != p.ID {
			t.Errorf("got %v %q %d, want %v %q %d", got.Type, got.Namespace, got.ID, wantType, p.Namespace, p.ID)
		}
		if !bytes.Equal(got.Data, p.Data) {
			// JSON that JavaScript would write otherwise (escapes,
			// repeated keys) comes back as JavaScript writes it (see
			// TestDifferentialDecode), and from then on unchanged.
			again, _ := AppendPacket(nil, got)
			q, err := dec.Decode(again, true)
			if err != nil || !bytes.Equal(q.Data, got.Data) {
				t.Errorf("data %s, want %s", trunc(got.Data), trunc(p.Data))
			}
		}
		if !slices.EqualFunc(got.Attachments, p.Attachments, bytes.Equal) {
			t.Errorf("%v: attachments differ", p.Type)
		}
		if dec.Pending() {
			t.Error("Pending after a whole packet")
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	var d Decoder
	if _, err := d.Decode([]byte(`2["a"]`), false); !errors.Is(err, parser.ErrInvalidPacket) {
		t.Errorf("text message: %v, want ErrInvalidPacket", err)
	}
	for _, c := range decodeCases() {
		_, err := d.Decode(c.msg, true)
		if err != nil && !errors.Is(err, parser.ErrInvalidPacket) {
			t.Errorf("%s: %v does not wrap ErrInvalidPacket", c.name, err)
		}
	}
	big := &parser.Packet{Type: parser.Event, Namespace: "/", ID: parser.NoID,
		Data:        []byte(`["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`),
		Attachments: [][]byte{make([]byte, 60), make([]byte, 60)}}
	msg, err := AppendPacket(nil, big)
	if err != nil {
		t.Fatal(err)
	}
	d = Decoder{MaxBinaryBytes: 100}
	if _, err := d.Decode(msg, true); !errors.Is(err, parser.ErrAttachmentsTooLarge) {
		t.Errorf("120 bytes of binary with a limit of 100: %v, want ErrAttachmentsTooLarge", err)
	}
	d = Decoder{MaxBinaryBytes: 120}
	if _, err := d.Decode(msg, true); err != nil {
		t.Errorf("120 bytes of binary with a limit of 120: %v", err)
	}
}

func TestEncodeErrors(t *testing.T) {
	p := &parser.Packet{Type: parser.Event, Namespace: "/", ID: parser.NoID, Data: []byte(`["a",`)}
	dst := []parser.Message{{Data: []byte("x")}}
	out, err := Parser{}.Encode(dst, p)
	if err == nil || len(out) != 1 {
		t.Fatalf("invalid JSON: %d messages, %v; want the input back and an error", len(out), err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, c := range decodeCases() {
		f.Add(c.msg)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var d Decoder
		p, err := d.Decode(slices.Clone(msg), true)
		if err != nil {
			if !errors.Is(err, parser.ErrInvalidPacket) {
				t.Fatalf("error %v does not wrap ErrInvalidPacket", err)
			}
			return
		}
		if p.Type > parser.ConnectError || p.ID < parser.NoID || p.ID > parser.MaxID {
			t.Fatalf("type %d id %d", p.Type, p.ID)
		}
		if p.Type == parser.Event {
			name, err := parser.EventName(p.Data)
			if err != nil || parser.IsReservedEvent(name) {
				t.Fatalf("event name %q, %v", name, err)
			}
		}
		if p.Type == parser.Event || p.Type == parser.Ack {
			if _, err := parser.SplitArray(nil, p.Data); err != nil {
				t.Fatalf("data %q: %v", p.Data, err)
			}
		}
		// What was decoded encodes, and decodes to the same packet.
		enc, err := AppendPacket(nil, p)
		if err != nil {
			t.Fatalf("re-encoding %v %q: %v", p.Type, p.Data, err)
		}
		q, err := d.Decode(enc, true)
		if err != nil {
			t.Fatalf("decoding the re-encoded packet: %v", err)
		}
		if q.Type != p.Type || q.ID != p.ID || !bytes.Equal(q.Data, p.Data) ||
			!slices.EqualFunc(q.Attachments, p.Attachments, bytes.Equal) {
			t.Fatalf("round trip: %v %d %q -> %v %d %q", p.Type, p.ID, p.Data, q.Type, q.ID, q.Data)
		}
		if q.Namespace != p.Namespace && !(p.Namespace == "" && q.Namespace == "/") {
			t.Fatalf("namespace %q -> %q", p.Namespace, q.Namespace)
		}
	})
}
