package cluster

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/parser"
)

func pkt(data string) *parser.Packet {
	return &parser.Packet{Type: parser.Event, ID: parser.NoID, Namespace: "/", Data: []byte(data)}
}

// TestJSONWire checks the exact JSON of each message type against the form
// the official adapters write (shared/redis-adapter-wire.md, observed with
// socket.io-adapter 2.5.8), and that it decodes back.
func TestJSONWire(t *testing.T) {
	opts := adapter.BroadcastOptions{Rooms: []string{"span"}, Except: []string{}}
	for _, c := range []struct {
		name string
		m    *Message
		want string
	}{
		{"broadcast", &Message{Type: Broadcast, UID: "u1", NSP: "/", Packet: pkt(`["bcast",{"n":1}]`), Opts: opts},
			`{"type":3,"data":{"packet":{"type":2,"data":["bcast",{"n":1}]},"opts":{"rooms":["span"],"except":[],"flags":{}}},"uid":"u1","nsp":"/"}`},
		{"broadcast with ack", &Message{Type: Broadcast, UID: "u1", NSP: "/", Packet: pkt(`["ask"]`), RequestID: "r1",
			Opts: adapter.BroadcastOptions{Flags: adapter.BroadcastFlags{Timeout: 2 * time.Second}}},
			`{"type":3,"data":{"packet":{"type":2,"data":["ask"]},"requestId":"r1","opts":{"rooms":[],"except":[],"flags":{"timeout":2000}}},"uid":"u1","nsp":"/"}`},
		{"volatile", &Message{Type: Broadcast, UID: "u1", NSP: "/", Packet: pkt(`["v"]`), Opts: adapter.BroadcastOptions{Flags: adapter.BroadcastFlags{Volatile: true}}},
			`{"type":3,"data":{"packet":{"type":2,"data":["v"]},"opts":{"rooms":[],"except":[],"flags":{"volatile":true}}},"uid":"u1","nsp":"/"}`},
		{"uncompressed", &Message{Type: Broadcast, UID: "u1", NSP: "/", Packet: pkt(`["u"]`), Opts: adapter.BroadcastOptions{Flags: adapter.BroadcastFlags{Volatile: true, NoCompress: true}}},
			`{"type":3,"data":{"packet":{"type":2,"data":["u"]},"opts":{"rooms":[],"except":[],"flags":{"volatile":true,"compress":false}}},"uid":"u1","nsp":"/"}`},
		{"sockets join", &Message{Type: SocketsJoin, UID: "u1", NSP: "/", Opts: adapter.BroadcastOptions{}, Rooms: []string{"sj"}},
			`{"type":4,"data":{"opts":{"rooms":[],"except":[],"flags":{}},"rooms":["sj"]},"uid":"u1","nsp":"/"}`},
		{"sockets leave", &Message{Type: SocketsLeave, UID: "u1", NSP: "/", Opts: adapter.BroadcastOptions{}, Rooms: []string{"sj"}},
			`{"type":5,"data":{"opts":{"rooms":[],"except":[],"flags":{}},"rooms":["sj"]},"uid":"u1","nsp":"/"}`},
		{"disconnect", &Message{Type: DisconnectSockets, UID: "u1", NSP: "/", Close: false},
			`{"type":6,"data":{"opts":{"rooms":[],"except":[],"flags":{}},"close":false},"uid":"u1","nsp":"/"}`},
		{"fetch", &Message{Type: FetchSockets, UID: "u1", NSP: "/", RequestID: "r2"},
			`{"type":7,"data":{"opts":{"rooms":[],"except":[],"flags":{}},"requestId":"r2"},"uid":"u1","nsp":"/"}`},
		{"server-side emit", &Message{Type: ServerSideEmit, UID: "u1", NSP: "/", Packet: pkt(`["ping-nodes",{"x":1}]`)},
			`{"type":9,"data":{"packet":["ping-nodes",{"x":1}]},"uid":"u1","nsp":"/"}`},
		{"server-side emit with ack", &Message{Type: ServerSideEmit, UID: "u1", NSP: "/", Packet: pkt(`["ping-nodes"]`), RequestID: "r3"},
			`{"type":9,"data":{"requestId":"r3","packet":["ping-nodes"]},"uid":"u1","nsp":"/"}`},
		{"server-side answer", &Message{Type: ServerSideEmitResponse, UID: "u2", NSP: "/", RequestID: "r3", Packet: &parser.Packet{Type: parser.Ack, Data: []byte(`["B","ignored"]`)}},
			`{"type":10,"data":{"requestId":"r3","packet":"B"},"uid":"u2","nsp":"/"}`},
		{"client count", &Message{Type: BroadcastClientCount, UID: "u2", NSP: "/", RequestID: "r1", ClientCount: 2},
			`{"type":11,"data":{"requestId":"r1","clientCount":2},"uid":"u2","nsp":"/"}`},
		{"broadcast ack", &Message{Type: BroadcastAck, UID: "u2", NSP: "/", RequestID: "r1", Packet: &parser.Packet{Type: parser.Ack, Data: []byte(`[{"ok":true}]`)}},
			`{"type":12,"data":{"requestId":"r1","packet":{"ok":true}},"uid":"u2","nsp":"/"}`},
		{"heartbeat", &Message{Type: Heartbeat, UID: "u2", NSP: "/"}, `{"type":2,"uid":"u2","nsp":"/"}`},
		{"close", &Message{Type: AdapterClose, UID: "u2", NSP: "/"}, `{"type":13,"uid":"u2","nsp":"/"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := AppendJSON(nil, c.m)
			if err != nil || string(got) != c.want {
				t.Fatalf("AppendJSON:\n got %s %v\nwant %s", got, err, c.want)
			}
			back, err := DecodeJSON(got)
			if err != nil {
				t.Fatalf("DecodeJSON: %v", err)
			}
			again, err := AppendJSON(nil, back)
			if err != nil || string(again) != c.want {
				t.Fatalf("round trip:\n got %s %v\nwant %s", again, err, c.want)
			}
		})
	}
}

func TestJSONFetchSocketsResponse(t *testing.T) {
	issued := time.Date(2026, 12, 1, 15, 5, 10, 0, time.UTC)
	info := adapter.SocketInfo{
		ID:    "sid1",
		Rooms: []string{"sid1", "room"},
		Data:  map[string]any{"user": "ann"},
		Handshake: &adapter.Handshake{
			Headers: http.Header{"Host": {"localhost"}, "Accept": {"a", "b"}},
			Time:    issued, Address: "127.0.0.1", Issued: issued.UnixMilli(),
			URL: "/socket.io/?EIO=4", Query: url.Values{"EIO": {"4"}}, RawAuth: []byte(`{"token":"t"}`),
		},
	}
	b, err := AppendJSON(nil, &Message{Type: FetchSocketsResponse, UID: "u", NSP: "/", RequestID: "r", Sockets: []adapter.SocketInfo{info}})
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Data struct {
			Sockets []struct {
				Handshake map[string]any `json:"handshake"`
			} `json:"sockets"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	hs := raw.Data.Sockets[0].Handshake
	if hs["time"] != "Tue Dec 01 2026 15:05:10 GMT+0000 (Coordinated Universal Time)" {
		t.Errorf("time %v", hs["time"])
	}
	headers := hs["headers"].(map[string]any)
	if headers["host"] != "localhost" || headers["accept"] != "a, b" {
		t.Errorf("headers %v", headers)
	}
	if q := hs["query"].(map[string]any); q["EIO"] != "4" {
		t.Errorf("query %v", q)
	}
	m, err := DecodeJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	got := m.Sockets[0]
	if got.ID != "sid1" || got.Handshake.Auth["token"] != "t" || !got.Handshake.Time.Equal(issued) ||
		got.Handshake.Headers.Get("Host") != "localhost" || got.Data.(map[string]any)["user"] != "ann" {
		t.Fatalf("decoded %+v %+v", got, got.Handshake)
	}
}

func TestJSONRejects(t *testing.T) {
	for _, in := range []string{
		``, `[]`, `{}`, `{"type":0}`, `{"type":14}`, `{"type":"3"}`,
		`{"type":3,"uid":"u","nsp":"/"}`,                                        // no data
		`{"type":3,"data":{"packet":{"type":2,"data":{}},"opts":{}},"nsp":"/"}`, // data not an array
		`{"type":3,"data":{"packet":{"type":2,"data":[]}},"nsp":"/"}`,           // no opts
		`{"type":7,"data":{"opts":{}},"nsp":"/"}`,                               // no requestId
		`{"type":11,"data":{"requestId":"r","clientCount":-1},"nsp":"/"}`,
		`{"type":9,"data":{"packet":"x"},"nsp":"/"}`,
	} {
		if m, err := DecodeJSON([]byte(in)); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("DecodeJSON(%s) = %+v, %v", in, m, err)
		}
	}
	if _, err := AppendJSON(nil, &Message{Type: Broadcast, Packet: &parser.Packet{Data: []byte(`[{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1}}}}); !errors.Is(err, ErrBinary) {
		t.Errorf("AppendJSON with binary: %v", err)
	}
}

// FuzzDecodeJSON: broker messages are untrusted: decoding never panics, and
// what decodes encodes again.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"type":3,"data":{"packet":{"type":2,"data":["bcast",{"n":1}]},"opts":{"rooms":["span"],"except":[],"flags":{}}},"uid":"u1","nsp":"/"}`,
		`{"type":8,"data":{"requestId":"r","sockets":[{"id":"a","handshake":{"headers":{"h":["x"]},"issued":1e300,"query":{"q":1},"auth":[]},"rooms":["a"],"data":null}]},"uid":"u","nsp":"/"}`,
		`{"type":10,"data":{"requestId":"r","packet":{"deep":[[[]]]}},"uid":"u","nsp":"/"}`,
		`{"type":2,"uid":"u","nsp":"/"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeJSON(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("error %v does not wrap ErrInvalidMessage", err)
			}
			return
		}
		if _, err := AppendJSON(nil, m); err != nil {
			t.Fatalf("decoded %+v does not encode: %v", m, err)
		}
	})
}

// TestMsgpackWire checks the MessagePack form of a binary broadcast against
// the bytes the official sharded adapter writes (notepack.io), and round
// trips of the types that may carry binary.
func TestMsgpackWire(t *testing.T) {
	m := &Message{Type: Broadcast, UID: "u", NSP: "/", Opts: adapter.BroadcastOptions{},
		Packet: &parser.Packet{Type: parser.Event, ID: parser.NoID, Data: []byte(`["b",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2}}}}
	got, err := AppendMsgpack(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	// {type:3, data:{packet:{type:2, data:["b", <bin 0102>]}, opts:{rooms:[], except:[], flags:{}}}, uid:"u", nsp:"/"}
	want := "\x84\xa4type\x03\xa4data\x82\xa6packet\x82\xa4type\x02\xa4data\x92\xa1b\xc4\x02\x01\x02" +
		"\xa4opts\x83\xa5rooms\x90\xa6except\x90\xa5flags\x80\xa3uid\xa1u\xa3nsp\xa1/"
	if string(got) != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	for _, m := range []*Message{
		m,
		{Type: ServerSideEmit, UID: "u", NSP: "/", RequestID: "r", Packet: &parser.Packet{Data: []byte(`["ev",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{9}}}},
		{Type: BroadcastAck, UID: "u", NSP: "/", RequestID: "r", Packet: &parser.Packet{Data: []byte(`[{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{7}}}},
		{Type: FetchSocketsResponse, UID: "u", NSP: "/", RequestID: "r", Sockets: []adapter.SocketInfo{{ID: "s", Rooms: []string{"s"}, Data: map[string]any{"avatar": []byte{5}}}}},
	} {
		b, err := AppendMsgpack(nil, m)
		if err != nil {
			t.Fatalf("type %d: %v", m.Type, err)
		}
		back, err := DecodeMsgpack(b)
		if err != nil {
			t.Fatalf("type %d: decode: %v", m.Type, err)
		}
		if m.Packet != nil && (string(back.Packet.Data) != string(m.Packet.Data) || string(back.Packet.Attachments[0]) != string(m.Packet.Attachments[0])) {
			t.Fatalf("type %d: packet %s %v", m.Type, back.Packet.Data, back.Packet.Attachments)
		}
		if m.Sockets != nil {
			if d, _ := back.Sockets[0].Data.(map[string]any); string(d["avatar"].([]byte)) != "\x05" {
				t.Fatalf("socket data %#v", back.Sockets[0].Data)
			}
		}
	}
}

// TestNumericRooms: a Node server's socket.join(4242) makes the number 4242
// a room; it arrives as a number and is the room "4242" here.
func TestNumericRooms(t *testing.T) {
	m, err := DecodeJSON([]byte(`{"type":3,"data":{"packet":{"type":2,"data":["bc"]},"opts":{"rooms":[4242,1.5,"r"],"except":[1e21],"flags":{}}},"uid":"u","nsp":"/"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.Opts.Rooms, ","); got != "4242,1.5,r" || m.Opts.Except[0] != "1e+21" {
		t.Fatalf("rooms %v except %v", m.Opts.Rooms, m.Opts.Except)
	}
	if _, err := DecodeJSON([]byte(`{"type":4,"data":{"opts":{"rooms":[true],"except":[]},"rooms":[]},"uid":"u","nsp":"/"}`)); err == nil {
		t.Fatal("a room that is neither a string nor a number was accepted")
	}
}

// FuzzDecodeMsgpack: the MessagePack form is untrusted too.
func FuzzDecodeMsgpack(f *testing.F) {
	for _, m := range []*Message{
		{Type: Broadcast, UID: "u", NSP: "/", Packet: &parser.Packet{Data: []byte(`["b",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1}}}},
		{Type: FetchSocketsResponse, UID: "u", NSP: "/", RequestID: "r", Sockets: []adapter.SocketInfo{{ID: "s", Rooms: []string{"s"}, Data: map[string]any{"b": []byte{5}}}}},
		{Type: BroadcastAck, UID: "u", NSP: "/", RequestID: "r", Packet: &parser.Packet{Data: []byte(`[{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{7}}}},
	} {
		b, err := AppendMsgpack(nil, m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMsgpack(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("error %v does not wrap ErrInvalidMessage", err)
			}
			return
		}
		if _, err := AppendMsgpack(nil, m); err != nil {
			t.Fatalf("decoded %+v does not encode: %v", m, err)
		}
	})
}
