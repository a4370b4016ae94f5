package interopclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketio-go/socketio/client"
)

// tricky holds arguments whose JSON must survive the round trip byte for
// byte (as raw JSON), and the form they come back in.
var tricky = []struct{ in, out string }{
	{`1e21`, `1e+21`},
	{`5e-324`, `5e-324`},
	{`1.7976931348623157e308`, `1.7976931348623157e+308`},
	{`9007199254740991`, `9007199254740991`},
	{`0.30000000000000004`, `0.30000000000000004`},
	{`"\ud800"`, `"\ud800"`},
	{`"héllo 世界 \u2028 </script>"`, "\"héllo 世界 \u2028 </script>\""},
	{`{"a":[1,{"b":null}],"c":true,"d":""}`, `{"a":[1,{"b":null}],"c":true,"d":""}`},
	{`[]`, `[]`},
	{`{}`, `{}`},
	{`null`, `null`},
	{`false`, `false`},
}

// TestEvents covers emit/receive of any arguments including binary, acks
// both ways, timeouts, volatile, and the listener API.
func TestEvents(t *testing.T) {
	forTargets(t, func(t *testing.T, target string) {
		srv := shared(t, target)
		forModes(t, func(t *testing.T, tr []string) {
			m := newManager(t, srv.url(), tr, nil)
			s := m.Socket("/", nil)
			connectHello(t, s)

			t.Run("echo raw JSON", func(t *testing.T) {
				echo := collect(s, "echo")
				defer s.Off("echo")
				args := make([]any, len(tricky))
				for i, c := range tricky {
					args[i] = json.RawMessage(c.in)
				}
				if err := s.Emit("echo", args...); err != nil {
					t.Fatal(err)
				}
				e := recv(t, echo, "echo")
				if e.Args().Len() != len(tricky) {
					t.Fatalf("%d args", e.Args().Len())
				}
				for i, c := range tricky {
					var got, want any
					_ = json.Unmarshal(e.Args().Raw(i), &got)
					_ = json.Unmarshal([]byte(c.out), &want)
					if string(e.Args().Raw(i)) != c.out && fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("arg %d = %s, want %s", i, e.Args().Raw(i), c.out)
					}
				}
				if got := string(e.Args().Raw(5)); got != `"\ud800"` {
					t.Errorf("lone surrogate came back as %s", got)
				}
			})
			t.Run("binary", func(t *testing.T) {
				type nested struct {
					Name string   `json:"name"`
					Data []byte   `json:"data"`
					List [][]byte `json:"list"`
				}
				in := nested{Name: "x", Data: []byte{0, 1, 2, 255}, List: [][]byte{[]byte("a"), {}}}
				loose := map[string]any{"list": []any{[]byte("b"), 2}}
				args, err := s.EmitWithAck(testCtx(t), "echo-ack", []byte("top"), in, "text", loose)
				if err != nil {
					t.Fatal(err)
				}
				var top []byte
				var out nested
				var text string
				var m map[string]any
				if err := args.Decode(&top, &out, &text, &m); err != nil {
					t.Fatal(err)
				}
				list, _ := m["list"].([]any)
				if string(top) != "top" || !bytes.Equal(out.Data, in.Data) || text != "text" || len(out.List) != 2 || string(out.List[0]) != "a" ||
					len(list) != 2 || string(list[0].([]byte)) != "b" {
					t.Fatalf("got %q %+v %q %v", top, out, text, m)
				}
				if len(args.Attachments()) != 5 {
					t.Fatalf("%d attachments", len(args.Attachments()))
				}
				// Spread echoes byte for byte, binary included.
				again, err := s.EmitWithAck(testCtx(t), "echo-ack", args.Spread()...)
				if err != nil {
					t.Fatal(err)
				}
				a1, _ := args.MarshalJSON()
				a2, _ := again.MarshalJSON()
				if !bytes.Equal(a1, a2) || len(again.Attachments()) != 5 {
					t.Fatalf("Spread round trip: %s vs %s", a1, a2)
				}
			})
			t.Run("ack without arguments", func(t *testing.T) {
				if got := ackJSON(t, s, "echo-ack"); got != `[]` {
					t.Fatalf("ack = %s", got)
				}
			})
			t.Run("ack timeout", func(t *testing.T) {
				start := time.Now()
				_, err := s.Timeout(300*time.Millisecond).EmitWithAck(testCtx(t), "echo", "never acked")
				if !errors.Is(err, client.ErrAckTimeout) || !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("err = %v", err)
				}
				if d := time.Since(start); d < 300*time.Millisecond {
					t.Fatalf("timed out after %v", d)
				}
				ctx, cancel := context.WithCancel(context.Background())
				go func() { time.Sleep(50 * time.Millisecond); cancel() }()
				if _, err := s.EmitWithAck(ctx, "echo", "cancelled"); !errors.Is(err, client.ErrAckTimeout) || !errors.Is(err, context.Canceled) {
					t.Fatalf("err = %v", err)
				}
			})
			t.Run("server asks", func(t *testing.T) {
				off := s.On("question", func(e *client.Event) {
					var q string
					_ = e.Decode(&q)
					if err := e.Ack("answer to "+q, "ignored"); err != nil {
						t.Error(err)
					}
					if err := e.Ack("twice"); !errors.Is(err, client.ErrAlreadyAcked) {
						t.Errorf("second Ack = %v", err)
					}
				})
				defer off()
				jsonEq(t, ackJSON(t, s, "ask", "life"), `[{"ok":true,"answer":"answer to life"}]`)
			})
			t.Run("big ack", func(t *testing.T) {
				args, err := s.EmitWithAck(testCtx(t), "big-ack", 2000000)
				var str string
				if err != nil || args.Decode(&str) != nil || len(str) != 2000000 {
					t.Fatalf("big-ack: %v, %d bytes", err, len(str))
				}
			})
			t.Run("reserved", func(t *testing.T) {
				for _, name := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
					if err := s.Emit(name); !errors.Is(err, client.ErrReservedEvent) {
						t.Errorf("Emit(%q) = %v", name, err)
					}
				}
			})
			t.Run("volatile", func(t *testing.T) {
				if len(tr) == 1 && tr[0] == client.TransportPolling {
					t.Skip("the servers drop volatile packets over polling when no GET is pending (contract)")
				}
				waitTransport(t, m, client.TransportWebSocket)
				got := collect(s, "volatile-event")
				defer s.Off("volatile-event")
				if err := s.Volatile().Emit("volatile", "v", []byte{7}); err != nil {
					t.Fatal(err)
				}
				e := recv(t, got, "volatile-event")
				var v string
				var b []byte
				if err := e.Decode(&v, &b); err != nil || v != "v" || len(b) != 1 {
					t.Fatalf("volatile-event %v %v %v", v, b, err)
				}
			})
			t.Run("listeners", func(t *testing.T) {
				tok := token()
				var mu sync.Mutex
				var calls []string
				rec := func(tag string) client.EventHandler {
					return func(e *client.Event) {
						var k string
						var n int
						if e.Name() != "echo" || e.Decode(&k, &n) != nil || k != tok {
							return // a flush
						}
						mu.Lock()
						calls = append(calls, fmt.Sprintf("%s:%d", tag, n))
						mu.Unlock()
					}
				}
				offAny := s.OnAny(rec("any"))
				s.PrependAny(rec("first"))
				offOn := s.On("echo", rec("on"))
				s.Once("echo", rec("once"))
				outgoing := make(chan string, 10)
				offOut := s.OnAnyOutgoing(func(event string, args []any) { outgoing <- fmt.Sprint(event, " ", args[1:]) })
				_ = s.Emit("echo", tok, 1)
				_ = s.Emit("echo", tok, 2)
				flush(t, s)
				offOn()
				offAny()
				_ = s.Emit("echo", tok, 3)
				flush(t, s)
				s.OffAny()
				_ = s.Emit("echo", tok, 4)
				flush(t, s)
				offOut()
				mu.Lock()
				got := strings.Join(calls, " ")
				mu.Unlock()
				if want := "first:1 any:1 on:1 once:1 first:2 any:2 on:2 first:3"; got != want {
					t.Fatalf("calls:\n got %s\nwant %s", got, want)
				}
				if o := recv(t, outgoing, "outgoing"); o != "echo [1]" {
					t.Fatalf("outgoing %q", o)
				}
			})
			t.Run("order", func(t *testing.T) {
				echo := collect(s, "echo")
				defer s.Off("echo")
				for i := range 100 {
					_ = s.Emit("echo", i)
				}
				for i := range 100 {
					var n int
					if err := recv(t, echo, "echo").Decode(&n); err != nil || n != i {
						t.Fatalf("event %d carries %d", i, n)
					}
				}
			})
		})
	})
}

// waitTransport waits until m's connection uses transport.
func waitTransport(t *testing.T, m *client.Manager, transport string) {
	t.Helper()
	if m.Transport() == transport {
		return
	}
	ch := make(chan struct{}, 1)
	off := m.OnUpgrade(func(string) { ch <- struct{}{} })
	defer off()
	deadline := time.After(wait)
	for m.Transport() != transport {
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("transport %q, want %q", m.Transport(), transport)
		}
	}
}

// token returns a unique string.
func token() string { return fmt.Sprintf("tok-%d", tokens.Add(1)) }

var tokens atomic.Int64

// flush waits until the handlers of s ran for everything the server sent
// before: an "echo" round trip, whose handler runs after the handlers of
// the events received before it.
func flush(t *testing.T, s *client.Socket) {
	t.Helper()
	tok := token()
	ch := make(chan struct{}, 1)
	off := s.On("echo", func(e *client.Event) {
		var v string
		if e.Decode(&v) == nil && v == tok {
			ch <- struct{}{}
		}
	})
	defer off()
	if err := s.Emit("echo", tok); err != nil {
		t.Fatal(err)
	}
	recv(t, ch, "flush")
}

// jsonEq compares two JSON texts semantically.
func jsonEq(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("invalid JSON %s: %v", got, err)
	}
	_ = json.Unmarshal([]byte(want), &w)
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Fatalf("got %s, want %s", got, want)
	}
}
