// Command conformance serves the two applications the official protocol
// test suites expect, on one port:
//
//   - /engine.io/: the Engine.IO layer alone, with an echo application
//     (every message is sent back unchanged, text as text, binary as binary);
//   - /socket.io/: the Socket.IO server. On "/" and "/custom", a connecting
//     socket receives "auth" with its CONNECT payload; "message" is answered
//     with "message-back" and the same arguments; "message-with-ack" is
//     acknowledged with its arguments.
//
// Both use pingInterval 300ms, pingTimeout 200ms and maxPayload 1000000;
// Socket.IO uses connectTimeout 1000ms and allows every origin.
//
// Usage:
//
//	go run ./cmd/conformance -addr 127.0.0.1:3000
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/engineio"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "listen address")
	flag.Parse()

	eio := newEngineServer()
	sio := newSocketServer()
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", eio)
	mux.Handle("/socket.io/", sio)
	hs := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- hs.ListenAndServe() }()
	log.Printf("conformance server listening on %s", *addr)
	select {
	case err := <-errc:
		log.Fatal(err)
	case <-ctx.Done():
	}
	// Close the listener first (http.Server.Shutdown does, then runs its
	// shutdown hooks), so that clients reconnecting at once do not land on
	// this process; then drain the sessions, whose long-polls
	// http.Server.Shutdown waits for.
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	drained := make(chan error, 1)
	hs.RegisterOnShutdown(func() { drained <- errors.Join(sio.Shutdown(sctx), eio.Shutdown(sctx)) })
	if err := errors.Join(hs.Shutdown(sctx), <-drained); err != nil {
		log.Print(err)
	}
}

// echo is the Engine.IO echo application.
type echo struct{ s *engineio.Session }

func (e echo) HandleMessage(data []byte, binary bool) { _ = e.s.Send(data, binary, false) }
func (echo) HandleClose(engineio.CloseReason, error)  {}

type echoHandler struct{}

func (echoHandler) OpenSession(s *engineio.Session) engineio.SessionHandler { return echo{s} }

func newEngineServer() *engineio.Server {
	return engineio.NewServer(&engineio.Options{
		PingInterval:      300 * time.Millisecond,
		PingTimeout:       200 * time.Millisecond,
		MaxHTTPBufferSize: 1_000_000,
		CORS:              &engineio.CORSOptions{Origins: []string{"*"}},
	}, echoHandler{})
}

func newSocketServer() *socketio.Server {
	srv := socketio.NewServer(&socketio.Options{
		PingInterval:      300 * time.Millisecond,
		PingTimeout:       200 * time.Millisecond,
		MaxHTTPBufferSize: 1_000_000,
		ConnectTimeout:    time.Second,
		CORS:              &socketio.CORSOptions{Origins: []string{"*"}},
	})
	for _, name := range []string{"/", "/custom"} {
		srv.Of(name).OnConnection(func(s *socketio.Socket) {
			_ = s.Emit("auth", json.RawMessage(s.Handshake().RawAuth))
			s.On("message", func(e *socketio.Event) {
				_ = s.Emit("message-back", e.Args().Spread()...)
			})
			s.On("message-with-ack", func(e *socketio.Event) {
				_ = e.Ack(e.Args().Spread()...)
			})
		})
	}
	return srv
}
