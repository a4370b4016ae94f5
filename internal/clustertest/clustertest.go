// Package clustertest holds what the tests of the multi-node adapters
// (adapters/redis, adapters/postgres, adapters/nats) share: Go servers on
// test HTTP servers, Go clients that record the events they get, and the
// handlers of their cluster contract.
package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	socketio "github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/client"
)

// Wait bounds every wait of these helpers.
const Wait = 5 * time.Second

// Node is a Go server of a test cluster.
type Node struct {
	Srv *socketio.Server
	URL string
}

// StartNode starts a server with opts on a test HTTP server, after setup
// (if not nil) registered its handlers. Both are shut down when t ends.
func StartNode(t testing.TB, opts *socketio.Options, setup func(*socketio.Server)) *Node {
	t.Helper()
	srv := socketio.NewServer(opts)
	if setup != nil {
		setup(srv)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Wait)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	return &Node{Srv: srv, URL: hs.URL}
}

// Dial connects a WebSocket client to the main namespace of url with auth,
// and returns its socket and the events it gets, each as its name, a
// space and its arguments in JSON.
func Dial(t testing.TB, url string, auth map[string]any) (*client.Socket, <-chan string) {
	t.Helper()
	m, err := client.NewManager(url, &client.Options{Transports: []string{client.TransportWebSocket}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	s := m.Socket("/", &client.SocketOptions{Auth: auth})
	events := make(chan string, 256)
	s.OnAny(func(e *client.Event) {
		b, _ := json.Marshal(e.Args())
		events <- e.Name() + " " + string(b)
	})
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	return s, events
}

// Recv returns the next value of ch, or fails t after Wait.
func Recv(t testing.TB, ch <-chan string) string {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(Wait):
		t.Fatal("timeout")
		return ""
	}
}

// App returns the setup of the cluster contract's servers: each socket
// joins the rooms of its handshake's auth.rooms, and the "hello"
// server-side event is answered with name.
func App(name string) func(*socketio.Server) {
	return func(srv *socketio.Server) {
		srv.Use(func(_ context.Context, s *socketio.Socket) error {
			if rooms, ok := s.Handshake().Auth["rooms"].([]any); ok {
				for _, r := range rooms {
					s.Join(fmt.Sprint(r))
				}
			}
			return nil
		})
		srv.OnServerSideEmit("hello", func(e *socketio.ServerEvent) {
			if e.HasAck() {
				_ = e.Ack(name)
			}
		})
	}
}

// JoinFromAuth is App("go") applied to srv.
func JoinFromAuth(srv *socketio.Server) { App("go")(srv) }
