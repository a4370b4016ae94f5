package client

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	socketio "github.com/socketio-go/socketio"
)

// TestPerMessageDeflate: the client offers permessage-deflate by default
// (as engine.io-client in Node), not when disabled, and large messages
// cross both ways with a server that accepts the extension.
func TestPerMessageDeflate(t *testing.T) {
	offers := make(chan string, 2)
	gs := newGoServer(t, &socketio.Options{PerMessageDeflate: &socketio.PerMessageDeflateOptions{}}, func(srv *socketio.Server) {
		echoSetup("/")(srv)
		srv.OnConnection(func(s *socketio.Socket) {
			offers <- s.Request().Header.Get("Sec-WebSocket-Extensions")
		})
	})
	big := strings.Repeat("compressible ", 1000)
	for _, tc := range []struct {
		name  string
		opts  *PerMessageDeflateOptions
		offer string
	}{
		{"default", nil, "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"disabled", &PerMessageDeflateOptions{Disable: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestManager(t, gs.url, &Options{Transports: []string{TransportWebSocket}, PerMessageDeflate: tc.opts})
			s := m.Socket("/", nil)
			echo := events(s, "echo")
			if err := s.Connect(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if got := recv(t, offers, "connection"); got != tc.offer {
				t.Fatalf("offer %q, want %q", got, tc.offer)
			}
			_ = s.Emit("echo", big)
			var got string
			if err := recv(t, echo, "echo").Decode(&got); err != nil || got != big {
				t.Fatalf("echo of %d bytes: %d bytes, %v", len(big), len(got), err)
			}
		})
	}
}

// countingConn counts the bytes written to a net.Conn.
type countingConn struct {
	net.Conn
	written *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.written.Add(int64(n))
	return n, err
}

// TestCompressFalse: Socket.Compress(false) sends the event uncompressed
// on a connection that negotiated permessage-deflate (the bytes written by
// the client's connection tell), and the default compresses it.
func TestCompressFalse(t *testing.T) {
	gs := newGoServer(t, &socketio.Options{PerMessageDeflate: &socketio.PerMessageDeflateOptions{}}, echoSetup("/"))
	var written atomic.Int64
	dialer := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{nc, &written}, nil
	}
	m := newTestManager(t, gs.url, &Options{Transports: []string{TransportWebSocket}, Dialer: dialer})
	s := m.Socket("/", nil)
	echo := events(s, "echo")
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("compressible ", 1000)
	for _, tc := range []struct {
		name       string
		emit       func() error
		compressed bool
	}{
		{"Emit", func() error { return s.Emit("echo", big) }, true},
		{"Compress(false).Emit", func() error { return s.Compress(false).Emit("echo", big) }, false},
		{"Compress(true).Emit", func() error { return s.Compress(true).Emit("echo", big) }, true},
		{"Volatile().Compress(false).Emit", func() error { return s.Volatile().Compress(false).Emit("echo", big) }, false},
	} {
		before := written.Load()
		if err := tc.emit(); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := recv(t, echo, "echo").Decode(&got); err != nil || got != big {
			t.Fatalf("%s: echo %d bytes, %v", tc.name, len(got), err)
		}
		n := written.Load() - before
		if compressed := n < int64(len(big))/10; compressed != tc.compressed {
			t.Fatalf("%s: %d bytes written for %d", tc.name, n, len(big))
		}
	}
}
