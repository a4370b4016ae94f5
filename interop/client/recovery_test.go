package interopclient

import (
	"testing"

	"github.com/socketio-go/socketio/client"
)

// TestRecovery covers connection state recovery against both servers
// (the app contract with RECOVERY=1): after a connection loss the client
// sends its pid and the offset of the last event in CONNECT, the server
// restores the session (same id, Recovered) and delivers the events
// broadcast meanwhile.
func TestRecovery(t *testing.T) {
	forTargets(t, testRecovery)
}

func testRecovery(t *testing.T, target string) {
	// A short heartbeat: over polling, a cut between two GETs is only
	// noticed by the server when the client misses a pong.
	env := map[string]string{"RECOVERY": "1"}
	for k, v := range fastPing {
		env[k] = v
	}
	srv := newServer(target, "", env)
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.stop)
	forModes(t, func(t *testing.T, tr []string) {
		var nc netctl
		m := newManager(t, srv.url(), tr, &client.Options{Dialer: nc.Dial})
		s := m.Socket("/", &client.SocketOptions{Auth: map[string]string{"user": "a"}})
		all := collect(s, "all-event")
		if err := s.Connect(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		if s.Recovered() {
			t.Fatal("recovered at the first connection")
		}
		if tr == nil {
			waitTransport(t, m, client.TransportWebSocket)
		}
		id := s.ID()
		// An event sets the offset.
		tok := token()
		_ = s.Emit("emit-all", tok, "before")
		for e := recv(t, all, "all-event"); string(e.Args().Raw(0)) != `"`+tok+`"`; e = recv(t, all, "all-event") {
		}
		why := reasons(s)
		nc.refuse()
		nc.cut()
		if r := recv(t, why, "OnDisconnect"); r != client.ReasonTransportClose && r != client.ReasonTransportError {
			t.Fatalf("reason %q", r)
		}
		srv.waitLog(t, "disconnect of "+id, func(l logLine) bool { return l.Event == "disconnect" && l.ID == id })
		// Broadcast while the socket is away, from another client.
		other := newManager(t, srv.url(), []string{client.TransportWebSocket}, nil).Socket("/", nil)
		if err := other.Connect(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		_ = other.Emit("emit-all", tok, "missed")
		ackJSON(t, other, "echo-ack")
		connected := make(chan struct{}, 1)
		s.OnConnect(func() { connected <- struct{}{} })
		nc.allow()
		recv(t, connected, "OnConnect")
		if !s.Recovered() || s.ID() != id {
			t.Fatalf("recovered %v, id %q (was %q)", s.Recovered(), s.ID(), id)
		}
		for {
			e := recv(t, all, "missed all-event")
			var k, v string
			if e.Decode(&k, &v) == nil && k == tok && v == "missed" {
				break
			}
		}
		// The session goes on: the next event is delivered too.
		_ = s.Emit("emit-all", tok, "after")
		for {
			e := recv(t, all, "all-event after")
			var k, v string
			if e.Decode(&k, &v) == nil && k == tok && v == "after" {
				break
			}
		}
	})
}
