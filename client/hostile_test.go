package client

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
)

// connectFake connects the socket of namespace "/" over the fake server.
func connectFake(t *testing.T, f *fakeServer, m *Manager) (*Socket, <-chan DisconnectReason) {
	t.Helper()
	s := m.Socket("/", nil)
	why := make(chan DisconnectReason, 10)
	s.OnDisconnect(func(r DisconnectReason) { why <- r })
	done := make(chan error, 1)
	go func() { done <- s.Connect(ctxT(t)) }()
	f.expect(t, "40")
	f.send(`40{"sid":"abc"}`)
	if err := recv(t, done, "Connect"); err != nil {
		t.Fatal(err)
	}
	return s, why
}

// TestHostileServer: input beyond the limits closes the connection with
// "parse error" or "transport error" instead of allocating.
func TestHostileServer(t *testing.T) {
	cases := []struct {
		name   string
		opts   *Options
		pkts   []string
		reason DisconnectReason
	}{
		{"too many attachments", nil, []string{`4511-["e",{"_placeholder":true,"num":0}]`}, ReasonParseError},
		{"too deep", nil, []string{`42["e",` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `]`}, ReasonParseError},
		{"not an array", nil, []string{`42{"a":1}`}, ReasonParseError},
		{"reserved event", nil, []string{`42["connect"]`}, ReasonParseError},
		{"bad ack id", nil, []string{`42abc["e"]`}, ReasonParseError},
		{"unknown type", nil, []string{`49`}, ReasonParseError},
		{"binary without packet", nil, []string{"b" + base64.StdEncoding.EncodeToString([]byte{1})}, ReasonParseError},
		{"attachment count limit", &Options{MaxAttachments: 2}, []string{`453-["e",1]`}, ReasonParseError},
		{"engine garbage", nil, []string{"x"}, ReasonTransportError},
		{"message too big", &Options{MaxMessageSize: 1000}, []string{`42["e","` + strings.Repeat("x", 2000) + `"]`}, ReasonTransportError},
		{"server close", nil, []string{"1"}, ReasonTransportClose},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeServer(t)
			opts := c.opts
			if opts == nil {
				opts = &Options{}
			}
			opts.DisableReconnection = true
			m := fakeManager(t, f, opts)
			_, why := connectFake(t, f, m)
			f.send(c.pkts...)
			if r := recv(t, why, "OnDisconnect"); r != c.reason {
				t.Fatalf("reason %q, want %q", r, c.reason)
			}
		})
	}
}

// TestEventFlood: a server sending more events than the handlers can
// take (EventQueueSize) gets its connection closed.
func TestEventFlood(t *testing.T) {
	f := newFakeServer(t)
	m := fakeManager(t, f, &Options{EventQueueSize: 5, DisableReconnection: true})
	s, why := connectFake(t, f, m)
	block := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(block) }) }
	t.Cleanup(unblock)
	s.On("e", func(*Event) { <-block })
	closed := make(chan error, 1)
	m.OnClose(func(_ DisconnectReason, err error) { closed <- err })
	flood := make([]string, 50)
	for i := range flood {
		flood[i] = `42["e"]`
	}
	f.send(flood...)
	f.expect(t, "1") // the client closes the connection...
	unblock()        // ...while its handlers are stuck
	err := recv(t, closed, "OnClose")
	if r := recv(t, why, "OnDisconnect"); r != ReasonTransportError || !errors.Is(err, ErrEventQueueFull) {
		t.Fatalf("reason %q, err %v", r, err)
	}
}

// TestConnectErrors: CONNECT_ERROR forms and a v2 server.
func TestConnectErrors(t *testing.T) {
	for _, c := range []struct {
		reply, message, data string
	}{
		{`44{"message":"nope","data":{"x":[1]}}`, `namespace "/": nope`, `{"x":[1]}`},
		{`44{"message":"no data"}`, `namespace "/": no data`, ""},
		{`44"legacy string"`, `namespace "/": legacy string`, ""},
		{`40`, errV2Server.Error(), ""},
	} {
		t.Run(c.reply, func(t *testing.T) {
			f := newFakeServer(t)
			m := fakeManager(t, f, nil)
			s := m.Socket("/", nil)
			handled := make(chan error, 1)
			s.OnConnectError(func(err error) { handled <- err })
			done := make(chan error, 1)
			go func() { done <- s.Connect(ctxT(t)) }()
			f.expect(t, "40")
			f.send(c.reply)
			err := recv(t, done, "Connect")
			if err == nil || err.Error() != c.message {
				t.Fatalf("Connect = %v", err)
			}
			var ce *ConnectError
			if errors.As(err, &ce) && string(ce.Data) != c.data {
				t.Fatalf("data %s", ce.Data)
			}
			if recv(t, handled, "OnConnectError") != err || s.Active() {
				t.Fatal("socket still active or handler not called")
			}
		})
	}
}

// TestWirePackets checks the exact packets of connect (auth), emit (ack
// ids, binary), ack and disconnect.
func TestWirePackets(t *testing.T) {
	f := newFakeServer(t)
	m := fakeManager(t, f, nil)
	s := m.Socket("/admin", &SocketOptions{Auth: map[string]any{"token": "t"}})
	done := make(chan error, 1)
	go func() { done <- s.Connect(ctxT(t)) }()
	f.expect(t, `40/admin,{"token":"t"}`)
	f.send(`40/admin,{"sid":"x1"}`)
	if err := recv(t, done, "Connect"); err != nil || s.ID() != "x1" {
		t.Fatalf("Connect: %v, id %q", err, s.ID())
	}
	_ = s.Emit("plain", 1, "a")
	f.expect(t, `42/admin,["plain",1,"a"]`)
	_ = s.Emit("bin", []byte{1, 2})
	f.expect(t, `451-/admin,["bin",{"_placeholder":true,"num":0}]`)
	f.expect(t, "b"+base64.StdEncoding.EncodeToString([]byte{1, 2}))
	res := make(chan string, 1)
	go func() {
		a, err := s.EmitWithAck(ctxT(t), "q", true)
		b, _ := json.Marshal(a)
		res <- string(b) + errString(err)
	}()
	f.expect(t, `42/admin,0["q",true]`)
	f.send(`43/admin,0["r",{"k":null}]`)
	if got := recv(t, res, "ack"); got != `["r",{"k":null}]` {
		t.Fatalf("ack %s", got)
	}
	s.On("ask", func(e *Event) { _ = e.Ack([]byte("ans")) })
	f.send(`42/admin,7["ask"]`)
	f.expect(t, `461-/admin,7[{"_placeholder":true,"num":0}]`)
	f.expect(t, "b"+base64.StdEncoding.EncodeToString([]byte("ans")))
	s.Disconnect()
	f.expect(t, `41/admin,`)
	f.expect(t, `1`) // the last socket gone, the connection closes
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return " " + err.Error()
}

// TestRecoveryWire: with a server that enabled connection state recovery
// (pid in the CONNECT reply), the client sends pid and the offset of the
// last event when it reconnects, and Recovered reports the outcome.
func TestRecoveryWire(t *testing.T) {
	f := newFakeServer(t)
	m := fakeManager(t, f, nil)
	s := m.Socket("/", &SocketOptions{Auth: map[string]any{"u": 1}})
	got := make(chan *Event, 10)
	s.On("e", func(e *Event) { got <- e })
	connected := make(chan bool, 10)
	s.OnConnect(func() { connected <- s.Recovered() })
	done := make(chan error, 1)
	go func() { done <- s.Connect(ctxT(t)) }()
	f.expect(t, `40{"u":1}`)
	f.send(`40{"sid":"a","pid":"p1"}`)
	if err := recv(t, done, "Connect"); err != nil || recv(t, connected, "OnConnect") {
		t.Fatal("first connection: error or recovered")
	}
	f.send(`42["e",1,"off-1"]`, `42["e",2,"off-2"]`, `425["e","not an offset: has an ack id"]`, `1`)
	for range 3 {
		recv(t, got, "event")
	}
	f.expect(t, `40{"pid":"p1","offset":"off-2","u":1}`)
	f.send(`40{"sid":"a","pid":"p1"}`)
	if !recv(t, connected, "OnConnect") || s.ID() != "a" {
		t.Fatal("not recovered")
	}
	f.send(`1`)
	f.expect(t, `40{"pid":"p1","offset":"off-2","u":1}`)
	f.send(`40{"sid":"b","pid":"p2"}`)
	if recv(t, connected, "OnConnect") || s.ID() != "b" {
		t.Fatal("recovered with a new pid")
	}
}
