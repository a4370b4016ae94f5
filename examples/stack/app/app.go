// Package app is the Socket.IO application that every example of
// examples/stack mounts: what matters there is how the server fits a
// router, a path prefix, a reverse proxy or TLS, not what it does.
package app

import (
	"log/slog"

	"github.com/socketio-go/socketio"
)

// New returns a server that greets each socket with "welcome" (its id and
// transport) and acknowledges "echo" with the arguments it got.
func New(opts *socketio.Options) *socketio.Server {
	if opts == nil {
		opts = &socketio.Options{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default().With("component", "socketio")
	}
	srv := socketio.NewServer(opts)
	srv.OnConnection(func(s *socketio.Socket) {
		_ = s.Emit("welcome", map[string]string{"id": s.ID(), "transport": s.Transport()})
		s.On("echo", func(e *socketio.Event) {
			_ = e.Ack(e.Args().Spread()...)
		})
	})
	return srv
}
