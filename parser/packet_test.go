package parser

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// goldenRow is a packet and its exact wire form (text message and binary
// messages).
type goldenRow struct {
	name string
	p    Packet
	wire string
}

func att(b ...byte) [][]byte { return [][]byte{b} }

var goldenRows = []goldenRow{
	{"connect main", Packet{Type: Connect, Namespace: "/", ID: NoID}, `0`},
	{"connect admin", Packet{Type: Connect, Namespace: "/admin", ID: NoID}, `0/admin,`},
	{"connect auth", Packet{Type: Connect, Namespace: "/", ID: NoID, Data: []byte(`{"token":"123"}`)}, `0{"token":"123"}`},
	{"connect reply", Packet{Type: Connect, Namespace: "/admin", ID: NoID, Data: []byte(`{"sid":"oSO0OpakMV_3jnilAAAA"}`)}, `0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}`},
	{"connect error", Packet{Type: ConnectError, Namespace: "/", ID: NoID, Data: []byte(`{"message":"Not authorized"}`)}, `4{"message":"Not authorized"}`},
	{"connect error string", Packet{Type: ConnectError, Namespace: "/", ID: NoID, Data: []byte(`"Not authorized"`)}, `4"Not authorized"`},
	{"invalid namespace", Packet{Type: ConnectError, Namespace: "/random", ID: NoID, Data: []byte(`{"message":"Invalid namespace"}`)}, `4/random,{"message":"Invalid namespace"}`},
	{"disconnect main", Packet{Type: Disconnect, Namespace: "/", ID: NoID}, `1`},
	{"disconnect admin", Packet{Type: Disconnect, Namespace: "/admin", ID: NoID}, `1/admin,`},
	{"event", Packet{Type: Event, Namespace: "/", ID: NoID, Data: []byte(`["foo"]`)}, `2["foo"]`},
	{"event admin", Packet{Type: Event, Namespace: "/admin", ID: NoID, Data: []byte(`["bar"]`)}, `2/admin,["bar"]`},
	{"event numeric name", Packet{Type: Event, Namespace: "/", ID: NoID, Data: []byte(`[1,"2",{"3":[true]}]`)}, `2[1,"2",{"3":[true]}]`},
	{"event with id", Packet{Type: Event, Namespace: "/", ID: 12, Data: []byte(`["foo"]`)}, `212["foo"]`},
	{"event id 0", Packet{Type: Event, Namespace: "/", ID: 0, Data: []byte(`["foo"]`)}, `20["foo"]`},
	{"event max id", Packet{Type: Event, Namespace: "/", ID: MaxID, Data: []byte(`["foo"]`)}, `29007199254740991["foo"]`},
	{"ack", Packet{Type: Ack, Namespace: "/", ID: 12, Data: []byte(`[]`)}, `312[]`},
	{"ack admin", Packet{Type: Ack, Namespace: "/admin", ID: 13, Data: []byte(`["bar"]`)}, `3/admin,13["bar"]`},
	{"ack suite", Packet{Type: Ack, Namespace: "/", ID: 456, Data: []byte(`[1,"2",{"3":[false]}]`)}, `3456[1,"2",{"3":[false]}]`},
	{"binary event", Packet{Type: BinaryEvent, Namespace: "/", ID: NoID,
		Data:        []byte(`["baz",{"_placeholder":true,"num":0}]`),
		Attachments: att(1, 2, 3, 4)}, `51-["baz",{"_placeholder":true,"num":0}]`},
	{"binary event admin two", Packet{Type: BinaryEvent, Namespace: "/admin", ID: NoID,
		Data:        []byte(`["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`),
		Attachments: [][]byte{{1, 2}, {3, 4}}}, `52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`},
	{"binary event with id", Packet{Type: BinaryEvent, Namespace: "/", ID: 789,
		Data:        []byte(`["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`),
		Attachments: [][]byte{{1, 2, 3}, {4, 5, 6}}}, `52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`},
	{"binary ack", Packet{Type: BinaryAck, Namespace: "/", ID: 15,
		Data:        []byte(`["bar",{"_placeholder":true,"num":0}]`),
		Attachments: att(1, 2, 3, 4)}, `61-15["bar",{"_placeholder":true,"num":0}]`},
	{"binary ack admin", Packet{Type: BinaryAck, Namespace: "/admin", ID: 15,
		Data:        []byte(`[{"_placeholder":true,"num":0}]`),
		Attachments: att(0xff)}, `61-/admin,15[{"_placeholder":true,"num":0}]`},
	{"binary nested", Packet{Type: BinaryEvent, Namespace: "/", ID: NoID,
		Data:        []byte(`["a",{"x":[{"_placeholder":true,"num":1}],"y":{"_placeholder":true,"num":0}}]`),
		Attachments: [][]byte{{}, {9}}}, `52-["a",{"x":[{"_placeholder":true,"num":1}],"y":{"_placeholder":true,"num":0}}]`},
	{"lone surrogate", Packet{Type: Event, Namespace: "/", ID: NoID, Data: []byte(`["m","\ud800"]`)}, `2["m","\ud800"]`},
}

func TestAppendTextGolden(t *testing.T) {
	for _, r := range goldenRows {
		t.Run(r.name, func(t *testing.T) {
			got := r.p.AppendText(nil)
			if string(got) != r.wire {
				t.Errorf("AppendText = %s, want %s", got, r.wire)
			}
			// Appending keeps the prefix.
			got = r.p.AppendText([]byte("4"))
			if string(got) != "4"+r.wire {
				t.Errorf("AppendText(4) = %s", got)
			}
		})
	}
}

// decodeAll feeds a text message and its attachments to d.
func decodeAll(t testing.TB, d *Decoder, wire string, atts [][]byte) (*Packet, error) {
	t.Helper()
	p, err := d.DecodeText([]byte(wire))
	if err != nil || p != nil {
		if p != nil && len(atts) > 0 {
			t.Fatalf("%s: complete before its attachments", wire)
		}
		return p, err
	}
	for i, a := range atts {
		if !d.Pending() {
			t.Fatalf("%s: not pending before attachment %d", wire, i)
		}
		p, err = d.DecodeBinary(a)
		if err != nil {
			return nil, err
		}
		if i < len(atts)-1 && p != nil {
			t.Fatalf("%s: complete after %d attachments", wire, i+1)
		}
	}
	if d.Pending() {
		t.Fatalf("%s: still pending", wire)
	}
	return p, nil
}

func TestDecodeGolden(t *testing.T) {
	var d Decoder
	for _, r := range goldenRows {
		t.Run(r.name, func(t *testing.T) {
			p, err := decodeAll(t, &d, r.wire, r.p.Attachments)
			if err != nil {
				t.Fatalf("decode %s: %v", r.wire, err)
			}
			if !reflect.DeepEqual(*p, r.p) {
				t.Errorf("decode %s:\n got %+v\nwant %+v", r.wire, *p, r.p)
			}
		})
	}
}

func TestDecodeLenient(t *testing.T) {
	tests := []struct {
		wire string
		want Packet
	}{
		// The namespace runs to the end when there is no comma.
		{`40/random`[1:], Packet{Type: Connect, Namespace: "/random", ID: NoID}},
		{`41/custom`[1:], Packet{Type: Disconnect, Namespace: "/custom", ID: NoID}},
		{`0/`, Packet{Type: Connect, Namespace: "/", ID: NoID}},
		{`0/,`, Packet{Type: Connect, Namespace: "/", ID: NoID}},
		// Whitespace around the payload is JSON whitespace, trimmed.
		{"2 [\"a\"] \n", Packet{Type: Event, Namespace: "/", ID: NoID, Data: []byte(`["a"]`)}},
		{"2[ \"a\" , 1 ]", Packet{Type: Event, Namespace: "/", ID: NoID, Data: []byte(`[ "a" , 1 ]`)}},
		// Leading zeros in the ack id and the attachment count.
		{`2007["a"]`, Packet{Type: Event, Namespace: "/", ID: 7, Data: []byte(`["a"]`)}},
		// An ack id on any type, like socket.io-parser.
		{`0/a,5{}`, Packet{Type: Connect, Namespace: "/a", ID: 5, Data: []byte(`{}`)}},
		// Numeric event names, escaped names that are not reserved.
		{`2[-1.5e3]`, Packet{Type: Event, Namespace: "/", ID: NoID, Data: []byte(`[-1.5e3]`)}},
		{`2["\u0063onnectx"]`, Packet{Type: Event, Namespace: "/", ID: NoID, Data: []byte(`["\u0063onnectx"]`)}},
		{`2["Connect"]`, Packet{Type: Event, Namespace: "/", ID: NoID, Data: []byte(`["Connect"]`)}},
		// A placeholder-like object in a non-binary packet is plain data.
		{`2["a",{"_placeholder":true,"num":5}]`, Packet{Type: Event, Namespace: "/", ID: NoID, Data: []byte(`["a",{"_placeholder":true,"num":5}]`)}},
		// Non-ASCII namespace.
		{`2/ü,["a"]`, Packet{Type: Event, Namespace: "/ü", ID: NoID, Data: []byte(`["a"]`)}},
	}
	for _, tt := range tests {
		var d Decoder
		p, err := d.DecodeText([]byte(tt.wire))
		if err != nil {
			t.Errorf("DecodeText(%q): %v", tt.wire, err)
			continue
		}
		if p == nil {
			t.Errorf("DecodeText(%q): pending", tt.wire)
			continue
		}
		if !reflect.DeepEqual(*p, tt.want) {
			t.Errorf("DecodeText(%q):\n got %+v\nwant %+v", tt.wire, *p, tt.want)
		}
	}
}

func TestDecodeBinaryPlaceholders(t *testing.T) {
	tests := []struct {
		wire string
		ok   bool
	}{
		{`51-["a",{"_placeholder":true,"num":0}]`, true},
		{`51-["a",{"num":0,"_placeholder":true}]`, true},
		{`51-["a",{"_placeholder":true,"num":0.0}]`, true},
		{`51-["a",{"_placeholder":true,"num":-0}]`, true},
		{`51-["a",{"_placeholder":true,"num":0e5}]`, true},
		{`51-["a",{"\u005fplaceholder":true,"n\u0075m":0}]`, true},
		{`51-["a",{"_placeholder":true,"num":0,"x":{"_placeholder":true,"num":9}}]`, true}, // inside a valid one: not looked at
		{`51-["a",{"_placeholder":false,"num":9}]`, true},                                  // not a placeholder
		{`51-["a",{"_placeholder":1,"num":9}]`, true},                                      // not a placeholder
		{`51-["a",{"_placeholder":"true","num":9}]`, true},                                 // not a placeholder
		{`51-["a",{"_placeholder":true,"num":9,"_placeholder":false}]`, true},              // the last member wins
		{`51-["a",{"_placeholder":true,"num":1}]`, false},
		{`51-["a",{"_placeholder":true,"num":-1}]`, false},
		{`51-["a",{"_placeholder":true,"num":0.5}]`, false},
		{`51-["a",{"_placeholder":true,"num":"0"}]`, false},
		{`51-["a",{"_placeholder":true,"num":[0]}]`, false},
		{`51-["a",{"_placeholder":true,"num":null}]`, false},
		{`51-["a",{"_placeholder":true}]`, false},
		{`51-["a",{"_placeholder":true,"num":1e400}]`, false},
		{`51-["a",{"_placeholder":true,"num":0,"num":1}]`, false}, // the last member wins
		{`51-["a",[[{"k":{"_placeholder":true,"num":3}}]]]`, false},
		{`51-["a",{"_placeholder":false,"x":{"_placeholder":true,"num":3}}]`, false},
		{`50-["a",{"_placeholder":true,"num":0}]`, false},
	}
	for _, tt := range tests {
		var d Decoder
		_, err := decodeAllLoose(&d, tt.wire, 1)
		if tt.ok && err != nil {
			t.Errorf("%s: %v", tt.wire, err)
		}
		if !tt.ok && !errors.Is(err, ErrIllegalAttachments) {
			t.Errorf("%s: err = %v, want ErrIllegalAttachments", tt.wire, err)
		}
	}
}

// decodeAllLoose decodes a text message and sends up to n attachments.
func decodeAllLoose(d *Decoder, wire string, n int) (*Packet, error) {
	p, err := d.DecodeText([]byte(wire))
	for i := 0; err == nil && p == nil && i < n; i++ {
		p, err = d.DecodeBinary([]byte{byte(i)})
	}
	return p, err
}

func TestDecodeErrors(t *testing.T) {
	deep := strings.Repeat("[", 5000)
	tests := []struct {
		wire string
		err  error
	}{
		{``, ErrInvalidPacket},
		// Zero attachments, as socket.io-parser 4.2.7 (GHSA-2m8v-j782-fhvr).
		{`50-["a"]`, ErrIllegalAttachments},
		{`600-/x,1[]`, ErrIllegalAttachments},
		{`450-["message","x"]`[1:], ErrIllegalAttachments},
		{`7`, ErrInvalidPacket},
		{`9["a"]`, ErrInvalidPacket},
		{`abc`, ErrInvalidPacket},
		{` 2["a"]`, ErrInvalidPacket},
		{`4abc`, ErrInvalidPacket},
		{`4`, ErrInvalidPacket},
		{`4[]`, ErrInvalidPacket},
		{`4null`, ErrInvalidPacket},
		{`4 `, ErrInvalidPacket},
		{`0[]`, ErrInvalidPacket},
		{`0"a"`, ErrInvalidPacket},
		{`0null`, ErrInvalidPacket},
		{`0{`, ErrInvalidPacket},
		{`0{}x`, ErrInvalidPacket},
		{`0{}{}`, ErrInvalidPacket},
		{`1{}`, ErrInvalidPacket},
		{`1/admin,{}`, ErrInvalidPacket},
		{`1[]`, ErrInvalidPacket},
		{`2`, ErrInvalidPacket},
		{`2/admin,`, ErrInvalidPacket},
		{`2/admin["bar"]`, ErrInvalidPacket}, // the namespace eats the payload
		{`42{}`[1:], ErrInvalidPacket},
		{`42abc[1]`[1:], ErrInvalidPacket},
		{`2[]`, ErrInvalidPacket},
		{`2[ ]`, ErrInvalidPacket},
		{`2[null]`, ErrInvalidPacket},
		{`2[true]`, ErrInvalidPacket},
		{`2[["a"]]`, ErrInvalidPacket},
		{`2[{"a":1}]`, ErrInvalidPacket},
		{`2"a"`, ErrInvalidPacket},
		{`2["connect"]`, ErrInvalidPacket},
		{`2["connect_error"]`, ErrInvalidPacket},
		{`2["disconnect",1]`, ErrInvalidPacket},
		{`2["disconnecting"]`, ErrInvalidPacket},
		{`2["newListener"]`, ErrInvalidPacket},
		{`2["removeListener"]`, ErrInvalidPacket},
		{`2["\u0063onnect"]`, ErrInvalidPacket},
		{`2[`, ErrInvalidPacket},
		{`2["a"`, ErrInvalidPacket},
		{`2["a",]`, ErrInvalidPacket},
		{`2["a" 1]`, ErrInvalidPacket},
		{`2["a\x"]`, ErrInvalidPacket},
		{"2[\"a\x01\"]", ErrInvalidPacket},
		{`2["a"]]`, ErrInvalidPacket},
		{`2['a']`, ErrInvalidPacket},
		{`2[01]`, ErrInvalidPacket},
		{`2[1.]`, ErrInvalidPacket},
		{`2[.1]`, ErrInvalidPacket},
		{`2[+1]`, ErrInvalidPacket},
		{`2[1e]`, ErrInvalidPacket},
		{`2[NaN]`, ErrInvalidPacket},
		{`2["a",tru]`, ErrInvalidPacket},
		{`2["a",{"k"}]`, ErrInvalidPacket},
		{`2["a",{"k":}]`, ErrInvalidPacket},
		{`2["a",{k:1}]`, ErrInvalidPacket},
		{`2["a",{"k":1,}]`, ErrInvalidPacket},
		{`2["a",{"k":1]]`, ErrInvalidPacket},
		{`2["a"}`, ErrInvalidPacket},
		{`29007199254740992["a"]`, ErrInvalidPacket}, // id > 2^53-1
		{`299999999999999999999999999["a"]`, ErrInvalidPacket},
		{`3`, ErrInvalidPacket},
		{`3{}`, ErrInvalidPacket},
		{`31"a"`, ErrInvalidPacket},
		{`5["a"]`, ErrInvalidPacket},
		{`5-["a"]`, ErrInvalidPacket},
		{`5x-["a"]`, ErrInvalidPacket},
		{`51["a"]`, ErrInvalidPacket},
		{`51`, ErrInvalidPacket},
		{`5 1-["a"]`, ErrInvalidPacket},
		{`51-`, ErrInvalidPacket},
		{`51-{}`, ErrInvalidPacket},
		{`51-[]`, ErrInvalidPacket},
		{`61-{}`, ErrInvalidPacket},
		{`511-["a"]`, ErrTooManyAttachments},
		{`599999999999999999999999-["a"]`, ErrTooManyAttachments},
		{"2" + deep, ErrTooDeep},
		{"3" + deep, ErrTooDeep},
		{"0" + strings.Repeat(`{"a":`, 5000), ErrTooDeep},
		{"51-" + deep, ErrTooDeep},
		{`2["a",` + strings.Repeat("[", 100) + strings.Repeat("]", 101), ErrTooDeep},
	}
	for _, tt := range tests {
		var d Decoder
		p, err := d.DecodeText([]byte(tt.wire))
		if !errors.Is(err, tt.err) {
			t.Errorf("DecodeText(%.40q) = %+v, %v; want %v", tt.wire, p, err, tt.err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "socketio/parser: ") {
			t.Errorf("error %q lacks the package prefix", err)
		}
		if d.Pending() {
			t.Errorf("DecodeText(%.40q): pending after error", tt.wire)
		}
	}
}

func TestDecodeDepthLimit(t *testing.T) {
	ok := `2["a",` + strings.Repeat("[", 99) + strings.Repeat("]", 100)
	var d Decoder
	if _, err := d.DecodeText([]byte(ok)); err != nil {
		t.Errorf("100 levels: %v", err)
	}
	d.MaxDepth = 3
	if _, err := d.DecodeText([]byte(`2["a",[[1]]]`)); err != nil {
		t.Errorf("3 levels with MaxDepth 3: %v", err)
	}
	if _, err := d.DecodeText([]byte(`2["a",[[[1]]]]`)); !errors.Is(err, ErrTooDeep) {
		t.Errorf("4 levels with MaxDepth 3: %v", err)
	}
	d.MaxDepth = 1 << 30
	huge := "2[1," + strings.Repeat("[", 1<<20) + strings.Repeat("]", 1<<20+1)
	if _, err := d.DecodeText([]byte(huge)); err != nil {
		t.Errorf("1M levels with a huge limit: %v", err)
	}
	start := time.Now()
	d.MaxDepth = 0
	huge = "2" + strings.Repeat("[", 1<<20)
	if _, err := d.DecodeText([]byte(huge)); !errors.Is(err, ErrTooDeep) {
		t.Errorf("1M levels: %v", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("rejecting deep nesting took %v", el)
	}
}

func TestDecodeLimits(t *testing.T) {
	d := Decoder{MaxAttachments: 2}
	if _, err := d.DecodeText([]byte(`53-["a"]`)); !errors.Is(err, ErrTooManyAttachments) {
		t.Errorf("3 > 2: %v", err)
	}
	if p, err := d.DecodeText([]byte(`52-["a"]`)); err != nil || p != nil {
		t.Errorf("2 <= 2: %v, %v", p, err)
	}
	d.Reset()
	if _, err := d.DecodeText([]byte(`510-["a"]`)); !errors.Is(err, ErrTooManyAttachments) {
		t.Errorf("10 > 2: %v", err)
	}
	d = Decoder{}
	if p, err := d.DecodeText([]byte(`510-["a"]`)); err != nil || p != nil {
		t.Errorf("default limit 10: %v, %v", p, err)
	}
	d = Decoder{MaxAttachmentBytes: 5}
	if _, err := d.DecodeText([]byte(`52-["a"]`)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DecodeBinary([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DecodeBinary([]byte("def")); !errors.Is(err, ErrAttachmentsTooLarge) {
		t.Errorf("6 > 5 bytes: %v", err)
	}
	if d.Pending() {
		t.Error("pending after error")
	}
}

func TestDecoderSequence(t *testing.T) {
	var d Decoder
	// Binary while not waiting.
	if _, err := d.DecodeBinary([]byte{1}); !errors.Is(err, ErrUnexpectedBinary) {
		t.Errorf("binary first: %v", err)
	}
	// Text while waiting: an error, and the partial packet is dropped.
	if p, err := d.DecodeText([]byte(`52-["a",{"_placeholder":true,"num":1}]`)); p != nil || err != nil {
		t.Fatalf("binary packet: %v, %v", p, err)
	}
	if _, err := d.DecodeBinary([]byte{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DecodeText([]byte(`2["a"]`)); !errors.Is(err, ErrUnexpectedText) {
		t.Errorf("text while waiting: %v", err)
	}
	if d.Pending() {
		t.Error("pending after ErrUnexpectedText")
	}
	// Then the decoder works again.
	p, err := d.DecodeText([]byte(`2["a"]`))
	if err != nil || p == nil || string(p.Data) != `["a"]` {
		t.Fatalf("after error: %v, %v", p, err)
	}
	// Reset drops a partial packet.
	if _, err := d.DecodeText([]byte(`51-["a",{"_placeholder":true,"num":0}]`)); err != nil {
		t.Fatal(err)
	}
	if !d.Pending() {
		t.Fatal("not pending")
	}
	d.Reset()
	if d.Pending() {
		t.Fatal("pending after Reset")
	}
	if _, err := d.DecodeBinary([]byte{1}); !errors.Is(err, ErrUnexpectedBinary) {
		t.Errorf("binary after Reset: %v", err)
	}
	// Two binary packets in a row reuse nothing of each other.
	p1, err := decodeAll(t, &d, `51-["a",{"_placeholder":true,"num":0}]`, att(1))
	if err != nil {
		t.Fatal(err)
	}
	p2, err := decodeAll(t, &d, `61-3[{"_placeholder":true,"num":0}]`, att(2))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p1.Attachments[0], []byte{1}) || !bytes.Equal(p2.Attachments[0], []byte{2}) || p2.ID != 3 {
		t.Errorf("p1 %+v p2 %+v", p1, p2)
	}
}

func TestDataOwnership(t *testing.T) {
	var d Decoder
	msg := []byte(`2/chat,["a"]`)
	p, err := d.DecodeText(msg)
	if err != nil {
		t.Fatal(err)
	}
	q, err := d.DecodeText([]byte(`2["b"]`))
	if err != nil {
		t.Fatal(err)
	}
	if string(p.Data) != `["a"]` || string(q.Data) != `["b"]` || p.Namespace != "/chat" {
		t.Errorf("packets %+v %+v", p, q)
	}
	// The namespace is a string of its own.
	copy(msg, "2/xxxx")
	if p.Namespace != "/chat" {
		t.Errorf("namespace changed with the message: %q", p.Namespace)
	}
}

func TestRoundTrip(t *testing.T) {
	packets := []Packet{
		{Type: Event, Namespace: "/", ID: NoID, Data: []byte(`["a"]`)},
		{Type: Event, Namespace: "/x", ID: 3, Data: []byte(`["a",{"_placeholder":true,"num":0}]`), Attachments: att(7)},
		{Type: Ack, Namespace: "/", ID: 0, Data: []byte(`[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1}, {2}}},
		{Type: BinaryEvent, Namespace: "/", ID: NoID, Data: []byte(`["a"]`)},
		{Type: BinaryAck, Namespace: "", ID: 9, Data: []byte(`[]`)},
		{Type: Connect, Namespace: "", ID: NoID},
		{Type: ConnectError, Namespace: "/é", ID: NoID, Data: []byte(`"no"`)},
		{Type: Disconnect, Namespace: "/", ID: -5},
	}
	for _, p := range packets {
		want := normalize(p)
		var d Decoder
		got, err := decodeAll(t, &d, string(p.AppendText(nil)), p.Attachments)
		if err != nil {
			t.Errorf("%+v: %v", p, err)
			continue
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("round trip of %+v:\n got %+v\nwant %+v", p, *got, want)
		}
	}
}

// normalize returns p as the decoder returns it after encoding: wire type,
// "/" for the main namespace, NoID for negative ids.
func normalize(p Packet) Packet {
	p.Type = p.WireType()
	if p.Namespace == "" {
		p.Namespace = "/"
	}
	if p.ID < 0 {
		p.ID = NoID
	}
	if len(p.Attachments) == 0 {
		p.Attachments = nil
	}
	if len(p.Data) == 0 {
		p.Data = nil
	}
	return p
}

func TestTypeString(t *testing.T) {
	want := []string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}
	for i, w := range want {
		if got := Type(i).String(); got != w {
			t.Errorf("Type(%d) = %s", i, got)
		}
		if !Type(i).Valid() {
			t.Errorf("Type(%d) invalid", i)
		}
	}
	if got := Type(7).String(); got != "Type(7)" || Type(7).Valid() {
		t.Errorf("Type(7) = %s", got)
	}
}

func TestWireType(t *testing.T) {
	tests := []struct {
		t    Type
		atts int
		want Type
	}{
		{Event, 0, Event}, {Event, 1, BinaryEvent}, {BinaryEvent, 0, Event}, {BinaryEvent, 2, BinaryEvent},
		{Ack, 0, Ack}, {Ack, 1, BinaryAck}, {BinaryAck, 0, Ack}, {BinaryAck, 1, BinaryAck},
		{Connect, 1, Connect}, {ConnectError, 0, ConnectError}, {Disconnect, 0, Disconnect},
	}
	for _, tt := range tests {
		p := Packet{Type: tt.t, Attachments: make([][]byte, tt.atts)}
		if got := p.WireType(); got != tt.want {
			t.Errorf("%v with %d attachments: %v, want %v", tt.t, tt.atts, got, tt.want)
		}
	}
}

func TestIsReservedEvent(t *testing.T) {
	for _, n := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		if !IsReservedEvent(n) {
			t.Errorf("%s not reserved", n)
		}
	}
	for _, n := range []string{"", "message", "Connect", "connect ", "error", "ping"} {
		if IsReservedEvent(n) {
			t.Errorf("%q reserved", n)
		}
	}
}
