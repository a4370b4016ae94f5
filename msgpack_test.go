package socketio

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/internal/websocket"
	"github.com/socketio-go/socketio/parser"
	"github.com/socketio-go/socketio/parser/msgpackparser"
)

// mclient is a raw msgpack-parser client over WebSocket.
type mclient struct{ *tclient }

func (env *testEnv) dialMsgpack() mclient { return mclient{env.dial()} }

func (c mclient) sendPacket(p *parser.Packet) {
	c.t.Helper()
	msg, err := msgpackparser.AppendPacket(nil, p)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendBinary(msg)
}

// nextRaw returns the next Socket.IO message (without the Engine.IO type
// byte) and whether it was binary, answering pings.
func (c mclient) nextRaw() ([]byte, bool, error) {
	// A failure guard: the read fails instead of hanging the test.
	guard := time.AfterFunc(10*time.Second, func() { _ = c.ws.CloseNow() })
	defer guard.Stop()
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			return nil, false, err
		}
		if typ == websocket.BinaryMessage {
			return data, true, nil
		}
		switch data[0] {
		case '2':
			_ = c.ws.WriteMessage(websocket.TextMessage, []byte("3"))
		case '4':
			return data[1:], false, nil
		}
	}
}

func (c mclient) nextPacket() *parser.Packet {
	c.t.Helper()
	msg, binary, err := c.nextRaw()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if !binary {
		c.t.Fatalf("text message %q from a msgpack server", msg)
	}
	var d msgpackparser.Decoder
	p, err := d.Decode(msg, true)
	if err != nil {
		c.t.Fatalf("decode %x: %v", msg, err)
	}
	return p
}

func (c mclient) connectNsp(nsp string) *parser.Packet {
	c.sendPacket(&parser.Packet{Type: parser.Connect, Namespace: nsp, ID: parser.NoID})
	return c.nextPacket()
}

func TestMsgpackParserRaw(t *testing.T) {
	env := newTestEnv(t, &Options{Parser: msgpackparser.Parser{}})
	errs := make(chan error, 1)
	env.srv.OnConnection(func(s *Socket) {
		s.On("echo", func(e *Event) { _ = e.Ack(e.Args().Spread()...) })
		// To every socket: b's connection handler (its Join) may still be
		// running when a shouts, but b is registered once connected.
		s.On("shout", func(e *Event) { _ = s.Namespace().Emit("heard", e.Args().Spread()...) })
		s.OnError(func(err error) { errs <- err })
	})
	env.srv.Of("/admin").Use(func(context.Context, *Socket) error {
		return &ConnectError{Message: "forbidden", Data: map[string]any{"code": 403}}
	})

	a, b := env.dialMsgpack(), env.dialMsgpack()
	p := a.connectNsp("/")
	if p.Type != parser.Connect || !bytes.HasPrefix(p.Data, []byte(`{"sid":"`)) {
		t.Fatalf("CONNECT reply: %v %s", p.Type, p.Data)
	}
	b.connectNsp("/")

	// An event with binary and an ack: the reply is an ACK (type 3, never
	// BINARY_ACK), its binary in place.
	a.sendPacket(&parser.Packet{Type: parser.Event, Namespace: "/", ID: 4,
		Data:        []byte(`["echo",{"_placeholder":true,"num":0},"x"]`),
		Attachments: [][]byte{{1, 2, 3}}})
	raw, _, err := a.nextRaw()
	if err != nil {
		t.Fatal(err)
	}
	var d msgpackparser.Decoder
	p, err = d.Decode(raw, true)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != parser.Ack || p.ID != 4 || string(p.Data) != `[{"_placeholder":true,"num":0},"x"]` ||
		len(p.Attachments) != 1 || !bytes.Equal(p.Attachments[0], []byte{1, 2, 3}) {
		t.Fatalf("ack: %v %d %s %v", p.Type, p.ID, p.Data, p.Attachments)
	}
	if !bytes.Contains(raw, []byte{0xa4, 't', 'y', 'p', 'e', 3}) {
		t.Errorf("ack message %x: type is not 3", raw)
	}

	// A broadcast reaches both clients with the same bytes.
	a.sendPacket(&parser.Packet{Type: parser.Event, Namespace: "/", ID: parser.NoID,
		Data: []byte(`["shout",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{9}}})
	ra, _, _ := a.nextRaw()
	rb, _, _ := b.nextRaw()
	if !bytes.Equal(ra, rb) {
		t.Errorf("broadcast differs:\n%x\n%x", ra, rb)
	}
	want, _ := msgpackparser.AppendPacket(nil, &parser.Packet{Type: parser.Event, Namespace: "/", ID: parser.NoID,
		Data: []byte(`["heard",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{9}}})
	if !bytes.Equal(ra, want) {
		t.Errorf("broadcast %x, want %x", ra, want)
	}

	// connect_error, for a middleware and for an unknown namespace.
	p = a.connectNsp("/admin")
	if p.Type != parser.ConnectError || string(p.Data) != `{"message":"forbidden","data":{"code":403}}` {
		t.Errorf("middleware refusal: %v %s", p.Type, p.Data)
	}
	p = a.connectNsp("/nowhere")
	if p.Type != parser.ConnectError || p.Namespace != "/nowhere" || string(p.Data) != `{"message":"Invalid namespace"}` {
		t.Errorf("unknown namespace: %v %q %s", p.Type, p.Namespace, p.Data)
	}

	// The server disconnects a socket: a DISCONNECT packet, without data.
	for _, s := range env.srv.Of("/").Sockets() {
		s.Disconnect(false)
	}
	for _, c := range []mclient{a, b} {
		p = c.nextPacket()
		if p.Type != parser.Disconnect || p.Data != nil {
			t.Errorf("disconnect: %v %s", p.Type, p.Data)
		}
	}

	// An invalid packet (here a text one) closes the connection, as the
	// official server does, after the sockets got the error.
	c := env.dialMsgpack()
	c.connectNsp("/")
	c.send(`2["echo"]`)
	if err := recv(t, errs); !errors.Is(err, parser.ErrInvalidPacket) {
		t.Errorf("OnError: %v, want ErrInvalidPacket", err)
	}
	c.waitClosedGuarded()
}

// waitClosedGuarded reads until the server closes the connection, and
// fails the test if it does not within 10 s.
func (c mclient) waitClosedGuarded() {
	c.t.Helper()
	closedByUs := make(chan struct{})
	guard := time.AfterFunc(10*time.Second, func() { close(closedByUs); _ = c.ws.CloseNow() })
	defer guard.Stop()
	for {
		if _, _, err := c.ws.ReadMessage(); err != nil {
			select {
			case <-closedByUs:
				c.t.Fatal("the server did not close the connection")
			default:
			}
			return
		}
	}
}

func TestMsgpackParserInvalidClosesConnection(t *testing.T) {
	env := newTestEnv(t, &Options{Parser: msgpackparser.Parser{}})
	for _, msg := range [][]byte{
		{0x92, 0x02, 0x02},                        // an array
		{0x83, 0xa4, 't', 'y', 'p', 'e', 0x05, 0}, // truncated
		append(mustPacket(t, &parser.Packet{Type: parser.Event, Namespace: "/", ID: parser.NoID, Data: []byte(`["a"]`)}), 0), // trailing byte
		mustPacket(t, &parser.Packet{Type: parser.Event, Namespace: "/", ID: parser.NoID, Data: []byte(`["disconnect"]`)}),
	} {
		c := env.dialMsgpack()
		c.connectNsp("/")
		c.sendBinary(msg)
		c.waitClosedGuarded()
	}
}

func mustPacket(t *testing.T, p *parser.Packet) []byte {
	t.Helper()
	b, err := msgpackparser.AppendPacket(nil, p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMsgpackParserGoClient runs the Go client with the msgpack parser
// against the server, over each transport: events with binary both ways,
// acks both ways, a namespace.
func TestMsgpackParserGoClient(t *testing.T) {
	env := newTestEnv(t, &Options{Parser: msgpackparser.Parser{}})
	env.srv.Of("/chat").OnConnection(func(s *Socket) {
		s.On("sum", func(e *Event) {
			var a, b int
			var blob []byte
			if e.Decode(&a, &b, &blob) == nil {
				_ = e.Ack(a+b, blob)
			}
		})
		go func() {
			ctx, cancel := context.WithTimeout(s.Context(), 5*time.Second)
			defer cancel()
			args, err := s.EmitWithAck(ctx, "question", "name?", []byte{7, 7})
			var name string
			if err == nil {
				err = args.Decode(&name)
			}
			if err == nil {
				_ = s.Emit("answer", "hello "+name)
			}
		}()
	})
	for _, transports := range [][]string{{"polling"}, {"websocket"}, {"polling", "websocket"}} {
		t.Run(strings.Join(transports, "+"), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			m, err := client.NewManager(env.hs.URL, &client.Options{Parser: msgpackparser.Parser{}, Transports: transports, DisableReconnection: true})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			s := m.Socket("/chat", nil)
			answer := make(chan string, 1)
			s.On("question", func(e *client.Event) {
				var q string
				var blob []byte
				if e.Decode(&q, &blob) == nil && q == "name?" && bytes.Equal(blob, []byte{7, 7}) {
					_ = e.Ack("gopher")
				}
			})
			s.On("answer", func(e *client.Event) {
				var a string
				_ = e.Decode(&a)
				answer <- a
			})
			if err := s.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			args, err := s.EmitWithAck(ctx, "sum", 2, 3, []byte{0, 1, 2})
			if err != nil {
				t.Fatal(err)
			}
			var sum int
			var blob []byte
			if err := args.Decode(&sum, &blob); err != nil || sum != 5 || !bytes.Equal(blob, []byte{0, 1, 2}) {
				t.Errorf("ack: %d %v %v", sum, blob, err)
			}
			if got := recv(t, answer); got != "hello gopher" {
				t.Errorf("answer %q", got)
			}
		})
	}
}
