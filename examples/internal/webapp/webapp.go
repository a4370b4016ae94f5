// Package webapp holds what the browser examples (ticker, whiteboard) share
// and is not about Socket.IO: finding the npm-installed browser client, and
// serving HTTP with a graceful shutdown.
package webapp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// ClientDist is where npm puts the official browser client, relative to an
// example's directory.
const ClientDist = "node_modules/socket.io-client/dist"

// FindClient returns the dist directory of socket.io-client as a file
// system for socketio.Options.ServeClient: dir if not empty, otherwise
// ClientDist under exampleDir (the example's source directory, known when
// the binary was built on this machine, as with `go run`), otherwise
// ClientDist under the working directory. It fails, saying what to run,
// when the bundle is not there.
func FindClient(dir, exampleDir string) (fs.FS, string, error) {
	candidates := []string{dir}
	if dir == "" {
		candidates = []string{filepath.Join(exampleDir, ClientDist), ClientDist}
	}
	for _, d := range candidates {
		if _, err := os.Stat(filepath.Join(d, "socket.io.min.js")); err == nil {
			return os.DirFS(d), d, nil
		}
	}
	return nil, "", fmt.Errorf("socket.io.min.js not found in %s: run `npm ci` in the example's directory"+
		" to install the official browser client, or pass -client", candidates[0])
}

// Shutdowner is a Socket.IO server, as far as Serve is concerned.
type Shutdowner interface {
	Shutdown(ctx context.Context) error
}

// Serve listens on addr, prints "listening http://ADDR" on stdout (the
// browser tests wait for that line) and serves h until ctx is done. It then
// shuts down in order: the listener first, then the Socket.IO server sio
// (which closes the WebSockets and pending long-polls that
// http.Server.Shutdown knows nothing of), then the idle HTTP connections.
func Serve(ctx context.Context, log *slog.Logger, addr string, h http.Handler, sio Shutdowner) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		// No ReadTimeout/WriteTimeout: they would cut long-polls and
		// WebSockets. Socket.IO has its own heartbeat.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String())
	fmt.Printf("listening http://%s\n", ln.Addr())

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	drained := make(chan error, 1)
	hs.RegisterOnShutdown(func() { drained <- sio.Shutdown(sctx) })
	err = hs.Shutdown(sctx)
	if derr := <-drained; derr != nil {
		log.Warn("socket.io shutdown", "err", derr)
	}
	if err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
