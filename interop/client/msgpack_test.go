package interopclient

import (
	"bytes"
	"errors"
	"testing"

	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/parser/msgpackparser"
)

// TestMsgpackParser runs the Go client with the msgpack parser against
// the app started with PARSER=msgpack: the official server with
// socket.io-msgpack-parser 3.0.2, and ours with msgpackparser.
func TestMsgpackParser(t *testing.T) {
	forTargets(t, func(t *testing.T, target string) {
		srv := startServer(t, target, map[string]string{"PARSER": "msgpack"})
		forModes(t, func(t *testing.T, tr []string) {
			m := newManager(t, srv.url(), tr, &client.Options{Parser: msgpackparser.Parser{}})
			s := m.Socket("/", nil)
			h := connectHello(t, s)
			if h.Nsp != "/" || string(h.Auth) != "{}" {
				t.Errorf("hello %+v", h)
			}

			// Events and acks with binary at any depth, both ways.
			if got := ackJSON(t, s, "echo-ack", "text", 1.5, []any{true, nil}, map[string]any{"k": "v"}); got != `["text",1.5,[true,null],{"k":"v"}]` {
				t.Errorf("echo-ack: %s", got)
			}
			args, err := s.EmitWithAck(testCtx(t), "echo-ack", []byte{0, 1, 255}, map[string]any{"deep": [][]byte{{7}, {}}})
			if err != nil {
				t.Fatal(err)
			}
			var top []byte
			var deep struct{ Deep [][]byte }
			if err := args.Decode(&top, &deep); err != nil || !bytes.Equal(top, []byte{0, 1, 255}) ||
				len(deep.Deep) != 2 || !bytes.Equal(deep.Deep[0], []byte{7}) || len(deep.Deep[1]) != 0 {
				t.Errorf("binary echo-ack: %x %v %v", top, deep, err)
			}
			echo := collect(s, "echo")
			if err := s.Emit("echo", "e", []byte("bin")); err != nil {
				t.Fatal(err)
			}
			var e1 string
			var e2 []byte
			if err := recv(t, echo, "echo").Decode(&e1, &e2); err != nil || e1 != "e" || string(e2) != "bin" {
				t.Errorf("echo: %q %q %v", e1, e2, err)
			}
			// The server asks (server->client ack with binary).
			s.On("question", func(e *client.Event) {
				var q struct{ Data []byte }
				_ = e.Decode(&q)
				_ = e.Ack(map[string]any{"raw": append(q.Data, '!')})
			})
			a, err := s.EmitWithAck(testCtx(t), "ask", map[string]any{"data": []byte("q")})
			if err != nil {
				t.Fatal(err)
			}
			var res struct {
				OK     bool
				Answer struct{ Raw []byte }
			}
			if err := a.Decode(&res); err != nil || !res.OK || string(res.Answer.Raw) != "q!" {
				t.Errorf("ask: %+v %v", res, err)
			}

			// Namespaces: a middleware's connect_error, an unknown one.
			admin := m.Socket("/admin", &client.SocketOptions{Auth: map[string]any{"role": "guest"}})
			err = admin.Connect(testCtx(t))
			var ce *client.ConnectError
			if !errors.As(err, &ce) || ce.Message != "forbidden" {
				t.Errorf("/admin: %v", err)
			}
			nowhere := m.Socket("/nowhere", nil)
			if err := nowhere.Connect(testCtx(t)); !errors.As(err, &ce) || ce.Message != "Invalid namespace" {
				t.Errorf("/nowhere: %v", err)
			}
			custom := m.Socket("/custom", nil)
			if h := connectHello(t, custom); h.Nsp != "/custom" {
				t.Errorf("custom hello %+v", h)
			}

			// The server disconnects the socket.
			gone := make(chan client.DisconnectReason, 1)
			s.OnDisconnect(func(r client.DisconnectReason) { gone <- r })
			id := s.ID()
			if err := s.Emit("disconnect-me", false); err != nil {
				t.Fatal(err)
			}
			if r := recv(t, gone, "disconnect"); r != client.ReasonIOServerDisconnect {
				t.Errorf("client reason %q", r)
			}
			if r := srv.disconnectReason(t, id); r != "server namespace disconnect" {
				t.Errorf("server reason %q", r)
			}
			// And the client disconnects one.
			id = custom.ID()
			custom.Disconnect()
			if r := srv.disconnectReason(t, id); r != "client namespace disconnect" {
				t.Errorf("server reason %q", r)
			}
		})
	})
}
