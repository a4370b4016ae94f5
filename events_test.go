package socketio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/websocket"
	"github.com/socketio-go/socketio/parser"
)

// echoServer answers "echo" with "echo-back" and acknowledges "ack" with
// the same arguments, byte for byte.
func echoServer(t *testing.T, opts *Options) *testEnv {
	env := newTestEnv(t, opts)
	env.srv.OnConnection(func(s *Socket) {
		s.On("echo", func(e *Event) { _ = s.Emit("echo-back", e.Args().Spread()...) })
		s.On("ack", func(e *Event) { _ = e.Ack(e.Args().Spread()...) })
	})
	return env
}

func TestEchoIsByteExact(t *testing.T) {
	env := echoServer(t, nil)
	c := env.dial()
	c.connect("/", "")
	for _, args := range []string{
		`1,"2",{"3":[true]}`,
		`"\ud800"`,
		`{"z":1,"a":2,"m":{"y":null,"b":[]}}`,
		`"<script>&amp;\u2028"`,
		`1e21,-0.5,123456789012345678901234567890`,
		`"€ 😀 中文 עברית"`,
		``,
	} {
		sep := ","
		if args == "" {
			sep = ""
		}
		c.send(`2["echo"` + sep + args + `]`)
		if got, want := c.nextText(), `2["echo-back"`+sep+args+`]`; got != want {
			t.Errorf("echo: got %s, want %s", got, want)
		}
		c.send(`27["ack"` + sep + args + `]`)
		if got, want := c.nextText(), `37[`+args+`]`; got != want {
			t.Errorf("ack: got %s, want %s", got, want)
		}
	}
}

func TestBinaryEcho(t *testing.T) {
	env := echoServer(t, nil)
	c := env.dial()
	c.connect("/", "")
	c.send(`52-["echo",{"a":{"_placeholder":true,"num":0},"b":[1,{"_placeholder":true,"num":1}]},"s"]`)
	c.sendBinary([]byte{1, 2, 3})
	c.sendBinary([]byte{})
	p := c.next()
	if got := string(p.AppendText(nil)); got != `52-["echo-back",{"a":{"_placeholder":true,"num":0},"b":[1,{"_placeholder":true,"num":1}]},"s"]` {
		t.Fatalf("got %s", got)
	}
	if len(p.Attachments) != 2 || !bytes.Equal(p.Attachments[0], []byte{1, 2, 3}) || len(p.Attachments[1]) != 0 {
		t.Fatalf("attachments %v", p.Attachments)
	}
	c.send(`52-9["ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	c.sendBinary([]byte{4})
	c.sendBinary([]byte{5})
	p = c.next()
	if got := string(p.AppendText(nil)); got != `62-9[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]` {
		t.Fatalf("got %s", got)
	}
}

func TestDecodeArgs(t *testing.T) {
	env := newTestEnv(t, nil)
	type msg struct {
		Text string `json:"text"`
		Data []byte `json:"data"`
	}
	got := make(chan string, 4)
	env.srv.OnConnection(func(s *Socket) {
		s.On("m", func(e *Event) {
			var m msg
			var n int
			var raw []byte
			var anyv any
			if err := e.Decode(&m, &n, &raw, &anyv); err != nil {
				got <- "error: " + err.Error()
				return
			}
			b, _ := anyv.(map[string]any)["b"].([]byte)
			got <- fmt.Sprintf("%s %v %d %v %v", m.Text, m.Data, n, raw, b)
		})
	})
	c := env.dial()
	c.connect("/", "")
	c.send(`53-["m",{"text":"hi","data":{"_placeholder":true,"num":0}},42,{"_placeholder":true,"num":1},{"b":{"_placeholder":true,"num":2}}]`)
	c.sendBinary([]byte{1})
	c.sendBinary([]byte{2})
	c.sendBinary([]byte{3})
	if g := recv(t, got); g != "hi [1] 42 [2] [3]" {
		t.Fatalf("got %q", g)
	}
	c.send(`2["m","not an object",1,null,null]`)
	if g := recv(t, got); !strings.HasPrefix(g, "error: socketio: invalid arguments") {
		t.Fatalf("got %q", g)
	}
	c.send(`2["m"]`)
	if g := recv(t, got); !strings.Contains(g, "got 0 arguments, want 4") {
		t.Fatalf("got %q", g)
	}
}

func TestTypedHandlers(t *testing.T) {
	type order struct {
		Item string `json:"item"`
		Qty  int    `json:"qty"`
	}
	type receipt struct {
		ID    string `json:"id"`
		Total int    `json:"total"`
	}
	env := newTestEnv(t, nil)
	got := make(chan string, 4)
	errs := make(chan error, 4)
	env.srv.OnConnection(func(s *Socket) {
		s.OnError(func(err error) { errs <- err })
		s.On("order", Handle(func(s *Socket, o order) { got <- fmt.Sprintf("%s %d", o.Item, o.Qty) }))
		s.On("pair", Handle2(func(s *Socket, a string, b []int) { got <- fmt.Sprintf("%s %v", a, b) }))
		s.On("buy", HandleAck(func(ctx context.Context, s *Socket, o order) (receipt, error) {
			if o.Qty <= 0 {
				return receipt{}, errors.New("quantity must be positive")
			}
			return receipt{ID: "r-" + o.Item, Total: o.Qty * 3}, nil
		}))
	})
	c := env.dial()
	c.connect("/", "")
	c.send(`2["order",{"item":"tea","qty":2}]`)
	if g := recv(t, got); g != "tea 2" {
		t.Fatalf("got %q", g)
	}
	c.send(`2["pair","x",[1,2]]`)
	if g := recv(t, got); g != "x [1 2]" {
		t.Fatalf("got %q", g)
	}
	c.send(`21["buy",{"item":"tea","qty":2}]`)
	if g := c.nextText(); g != `31[{"id":"r-tea","total":6}]` {
		t.Fatalf("got %s", g)
	}
	c.send(`22["buy",{"item":"tea","qty":0}]`)
	if g := c.nextText(); g != `32[{"error":"quantity must be positive"}]` {
		t.Fatalf("got %s", g)
	}
	c.send(`23["buy","oops"]`)
	g := c.nextText()
	if g != `33[{"error":"invalid arguments"}]` {
		t.Fatalf("got %s", g)
	}
	if err := recv(t, errs); !errors.Is(err, ErrInvalidArgs) {
		t.Fatalf("error hook: %v", err)
	}
	// No ack asked: the error only goes to the hook.
	c.send(`2["order",[1]]`)
	if err := recv(t, errs); !errors.Is(err, ErrInvalidArgs) {
		t.Fatalf("error hook: %v", err)
	}
}

// TestTypedAckHandlers: typed handlers for what apps send, as the official
// client writes it: socket.emit("getState", cb), socket.emit("say", room,
// text, cb), and an acknowledgement asked of a Handle handler.
func TestTypedAckHandlers(t *testing.T) {
	env := newTestEnv(t, nil)
	got := make(chan string, 4)
	env.srv.OnConnection(func(s *Socket) {
		s.On("getState", HandleAck0(func(ctx context.Context, s *Socket) (map[string]int, error) {
			return map[string]int{"players": 2}, nil
		}))
		s.On("say", HandleAck2(func(ctx context.Context, s *Socket, room, text string) (string, error) {
			if text == "" {
				return "", errors.New("empty message")
			}
			return room + ": " + text, nil
		}))
		s.On("note", Handle(func(s *Socket, n int) { got <- fmt.Sprint(n) }))
		s.On("pair", Handle2(func(s *Socket, a string, b int) { got <- fmt.Sprint(a, b) }))
	})
	c := env.dial()
	c.connect("/", "")
	for _, tc := range []struct{ send, want string }{
		{`21["getState"]`, `31[{"players":2}]`},
		{`22["getState","ignored"]`, `32[{"players":2}]`},
		{`23["say","lobby","hi"]`, `33["lobby: hi"]`},
		{`24["say","lobby",""]`, `34[{"error":"empty message"}]`},
		{`25["say","lobby"]`, `35[{"error":"invalid arguments"}]`},
		{`26["note",7]`, `36[]`}, // a valid payload is acknowledged too
		{`27["note","x"]`, `37[{"error":"invalid arguments"}]`},
		{`28["pair","a",1]`, `38[]`},
	} {
		c.send(tc.send)
		if g := c.nextText(); g != tc.want {
			t.Errorf("%s: got %s, want %s", tc.send, g, tc.want)
		}
	}
	if g := recv(t, got); g != "7" {
		t.Errorf("note %q", g)
	}
}

func TestServerEmitWithAck(t *testing.T) {
	env := newTestEnv(t, nil)
	type result struct {
		args Args
		err  error
	}
	results := make(chan result, 3)
	env.srv.OnConnection(func(s *Socket) {
		s.On("go", func(e *Event) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			args, err := s.EmitWithAck(ctx, "question", []byte{9}, "q")
			results <- result{args, err}
		})
		s.On("go-timeout", func(e *Event) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_, err := s.EmitWithAck(ctx, "question")
			results <- result{err: err}
		})
		s.On("go-forever", func(e *Event) {
			_, err := s.EmitWithAck(context.Background(), "question")
			results <- result{err: err}
		})
	})
	c := env.dial()
	c.connect("/", "")
	c.send(`2["go"]`)
	p := c.next()
	if p.ID == parser.NoID || string(p.Data) != `["question",{"_placeholder":true,"num":0},"q"]` || !bytes.Equal(p.Attachments[0], []byte{9}) {
		t.Fatalf("question %s %v", p.AppendText(nil), p.Attachments)
	}
	c.send(`61-` + strconv.FormatInt(p.ID, 10) + `["answer",{"_placeholder":true,"num":0}]`)
	c.sendBinary([]byte{7, 7})
	r := recv(t, results)
	var s string
	var b []byte
	if r.err != nil || r.args.Decode(&s, &b) != nil || s != "answer" || !bytes.Equal(b, []byte{7, 7}) {
		t.Fatalf("ack %v %v", r.args, r.err)
	}
	c.send(`2["go-timeout"]`)
	c.next()
	r = recv(t, results)
	if !errors.Is(r.err, ErrAckTimeout) || !errors.Is(r.err, context.DeadlineExceeded) {
		t.Fatalf("timeout error %v", r.err)
	}
	c.send(`2["go-forever"]`)
	c.next()
	c.send(`1`)
	if r := recv(t, results); !errors.Is(r.err, ErrDisconnected) {
		t.Fatalf("disconnect error %v", r.err)
	}
}

func TestAckRules(t *testing.T) {
	env := newTestEnv(t, nil)
	errs := make(chan error, 4)
	env.srv.OnConnection(func(s *Socket) {
		s.On("x", func(e *Event) {
			errs <- e.Ack(1)
			errs <- e.Ack(2)
		})
		if err := s.Emit("connect"); !errors.Is(err, ErrReservedEvent) {
			errs <- fmt.Errorf("reserved emit: %v", err)
		}
	})
	c := env.dial()
	c.connect("/", "")
	c.send(`2["x"]`)
	if err := recv(t, errs); !errors.Is(err, ErrNoAck) {
		t.Fatalf("first: %v", err)
	}
	recv(t, errs)
	c.send(`25["x"]`)
	if err := recv(t, errs); err != nil {
		t.Fatalf("ack: %v", err)
	}
	if err := recv(t, errs); !errors.Is(err, ErrAlreadyAcked) {
		t.Fatalf("second ack: %v", err)
	}
	if got := c.nextText(); got != "35[1]" {
		t.Fatalf("got %s", got)
	}
}

func TestHandlersRunInOrder(t *testing.T) {
	env := newTestEnv(t, nil)
	seen := make(chan int, 200)
	var anyCount, mwCount sync.Map
	env.srv.OnConnection(func(s *Socket) {
		s.Use(func(e *Event) error {
			mwCount.Store(e.Name(), true)
			if e.Name() == "blocked" {
				return errors.New("blocked by middleware")
			}
			return nil
		})
		s.OnAny(func(e *Event) { anyCount.Store(e.Name(), true) })
		s.On("n", Handle(func(s *Socket, n int) {
			if n%10 == 0 {
				time.Sleep(time.Millisecond) // a slow handler must not reorder
			}
			seen <- n
		}))
		s.On("blocked", func(e *Event) { seen <- -1 })
		s.OnError(func(err error) { seen <- -2 })
	})
	c := env.dial()
	c.connect("/", "")
	for i := 0; i < 100; i++ {
		c.send(`2["n",` + strconv.Itoa(i) + `]`)
	}
	for i := 0; i < 100; i++ {
		if n := recv(t, seen); n != i {
			t.Fatalf("got %d, want %d", n, i)
		}
	}
	c.send(`2["blocked"]`)
	if n := recv(t, seen); n != -2 {
		t.Fatalf("got %d, want the error handler", n)
	}
	if _, ok := anyCount.Load("n"); !ok {
		t.Fatal("OnAny not called")
	}
	if _, ok := anyCount.Load("blocked"); ok {
		t.Fatal("OnAny called for an event refused by a middleware")
	}
}

func TestRemoveHandler(t *testing.T) {
	env := newTestEnv(t, nil)
	seen := make(chan string, 10)
	env.srv.OnConnection(func(s *Socket) {
		var remove func()
		remove = s.On("x", func(e *Event) { seen <- "first"; remove() })
		s.On("x", func(e *Event) { seen <- "second" })
	})
	c := env.dial()
	c.connect("/", "")
	c.send(`2["x"]`)
	c.send(`2["x"]`)
	for _, want := range []string{"first", "second", "second"} {
		if got := recv(t, seen); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
}

// TestConcurrentBinaryEmits checks that a packet and its attachments are
// never interleaved with another packet (socketioxide #232).
func TestConcurrentBinaryEmits(t *testing.T) {
	env := newTestEnv(t, nil)
	const writers, each = 8, 50
	env.srv.OnConnection(func(s *Socket) {
		s.On("start", func(e *Event) {
			var wg sync.WaitGroup
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						b := []byte{byte(w), byte(i)}
						if err := s.Emit("bin", w, i, b, map[string]any{"again": b}); err != nil {
							t.Errorf("emit: %v", err)
						}
					}
				}()
			}
			wg.Wait()
		})
	})
	c := env.dial()
	c.connect("/", "")
	c.send(`2["start"]`)
	for n := 0; n < writers*each; n++ {
		p := c.next()
		var name string
		var w, i int
		var b1 []byte
		var m map[string]any
		args, err := newArgs(p.Data, p.Attachments)
		if err != nil {
			t.Fatal(err)
		}
		if err := args.Decode(&name, &w, &i, &b1, &m); err != nil {
			t.Fatal(err)
		}
		b2, _ := m["again"].([]byte)
		if !bytes.Equal(b1, []byte{byte(w), byte(i)}) || !bytes.Equal(b2, b1) {
			t.Fatalf("packet %d/%d carries attachments %v %v", w, i, b1, b2)
		}
	}
}

func TestHandlerPanicClosesOnlyItsConnection(t *testing.T) {
	env := newTestEnv(t, nil)
	reasons := make(chan DisconnectReason, 2)
	env.srv.OnConnection(func(s *Socket) {
		s.OnDisconnect(func(r DisconnectReason) { reasons <- r })
		s.On("boom", func(e *Event) { panic("boom") })
		s.On("echo", func(e *Event) { _ = s.Emit("echo", e.Args().Spread()...) })
	})
	bad, good := env.dial(), env.dial()
	bad.connect("/", "")
	good.connect("/", "")
	bad.send(`2["boom"]`)
	bad.waitClosed()
	if r := recv(t, reasons); r != ReasonTransportError {
		t.Fatalf("reason %q", r)
	}
	good.send(`2["echo","still here"]`)
	if got := good.nextText(); got != `2["echo","still here"]` {
		t.Fatalf("got %s", got)
	}
}

func TestEventQueueOverflowClosesConnection(t *testing.T) {
	env := newTestEnv(t, &Options{EventQueueSize: 5})
	release := make(chan struct{})
	env.srv.OnConnection(func(s *Socket) {
		s.On("block", func(e *Event) { <-release })
	})
	defer close(release)
	c := env.dial()
	c.connect("/", "")
	for i := 0; i < 20; i++ {
		// The server may close the connection before all are written.
		if c.ws.WriteMessage(websocket.TextMessage, []byte(`42["block"]`)) != nil {
			break
		}
	}
	c.waitClosed()
}
