// Command chat is a small multi-room chat: a Go Socket.IO server and a plain
// HTML/JavaScript page using the official socket.io browser client.
//
// It shows a namespace middleware checking the auth payload (the nickname),
// per-socket data (Socket.SetData), rooms, typed event handlers, an
// acknowledged event, broadcasts that include or exclude the sender,
// disconnect handling and graceful shutdown.
//
// Usage, from the examples directory (see README.md):
//
//	(cd chat && npm ci)   # fetches the browser client into chat/node_modules
//	go run ./chat [-addr 127.0.0.1:3000] [-client path/to/socket.io.min.js]
//
// The PORT environment variable, if set, replaces the port of -addr.
//
// With -redis host:port, the server is one server of a cluster behind a
// load balancer that needs no sticky sessions (see cluster.go and
// examples/cluster): -node names it, -advertise is where the others reach
// it, -redis-key prefixes its Redis channels and keys.
//
// Routes:
//
//	/                  the page (static/, embedded in the binary)
//	/socket.io.min.js  the official browser client, read from disk at startup
//	/socket.io/        the Socket.IO server
package main

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

// staticFiles holds the page: index.html, app.js and style.css.
//
//go:embed static
var staticFiles embed.FS

// clientFile is where npm puts the browser client, relative to this
// directory.
const clientFile = "node_modules/socket.io-client/dist/socket.io.min.js"

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)
	if err := run(log); err != nil {
		fmt.Fprintf(os.Stderr, "chat: %v\n", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	addr := flag.String("addr", "127.0.0.1:3000", "listen `address`; the PORT environment variable replaces its port")
	client := flag.String("client", "", "`path` of socket.io.min.js (default: "+clientFile+" next to this source file)")
	var cl cluster
	cl.flags.register(flag.CommandLine)
	flag.Parse()

	if port := os.Getenv("PORT"); port != "" {
		host, _, err := net.SplitHostPort(*addr)
		if err != nil {
			return fmt.Errorf("-addr: %w", err)
		}
		*addr = net.JoinHostPort(host, port)
	}

	clientPath := findClient(*client)
	clientJS, err := os.ReadFile(clientPath)
	if err != nil {
		return fmt.Errorf("%w\n\tThe page needs the official socket.io browser client:"+
			" run `npm ci` in examples/chat to install it, or pass -client", err)
	}

	// Stop on Ctrl-C or SIGTERM.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	opts, err := cl.options(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err := cl.close(); err != nil {
			log.Warn("leaving the cluster", "err", err)
		}
	}()
	srv := newChat(log, opts)
	httpServer := &http.Server{
		Handler:           newMux(srv, clientJS),
		ReadHeaderTimeout: 10 * time.Second,
		// No ReadTimeout/WriteTimeout: they would cut long-polling
		// requests and WebSocket connections. The Socket.IO server has
		// its own heartbeat (PingInterval, PingTimeout).
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if err := cl.register(ctx, log, ln.Addr()); err != nil {
		ln.Close()
		return err
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpServer.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "client", clientPath)
	// The one line on stdout: scripts (and the browser test) wait for it.
	fmt.Printf("listening http://%s\n", ln.Addr())

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	stop() // a second Ctrl-C kills the process at once
	log.Info("shutting down")

	// Graceful shutdown, listener first: http.Server.Shutdown closes it (the
	// clients that reconnect at once then reach the next process, not this
	// one), then runs its shutdown hooks, here the Socket.IO Shutdown: it
	// disconnects every socket, flushes what was queued, closes the
	// WebSockets and ends the pending long-polls (http.Server.Shutdown
	// knows nothing of the hijacked WebSockets and would wait for the
	// long-polls), then waits for the handlers to return.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	drained := make(chan error, 1)
	httpServer.RegisterOnShutdown(func() { drained <- srv.Shutdown(shutdownCtx) })
	err = httpServer.Shutdown(shutdownCtx)
	if derr := <-drained; derr != nil {
		log.Warn("socket.io shutdown", "err", derr)
	}
	if err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("bye")
	return nil
}

// newMux routes the page, the browser client and the Socket.IO server.
func newMux(sio http.Handler, clientJS []byte) *http.ServeMux {
	page, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // cannot happen: "static" is embedded
	}
	loaded := time.Now()
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServerFS(page))
	mux.HandleFunc("GET /socket.io.min.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "socket.io.min.js", loaded, bytes.NewReader(clientJS))
	})
	// The Socket.IO server is an http.Handler. Its path must match the
	// client's "path" option; "/socket.io/" is the default on both sides.
	mux.Handle("/socket.io/", sio)
	return mux
}

// findClient returns the path of the browser client: flagValue if set,
// otherwise the first existing one of clientFile in the directory of this
// source file (known when the binary was built on this machine, as with
// `go run`) and clientFile in the working directory.
func findClient(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	var candidates []string
	if _, src, _, ok := runtime.Caller(0); ok && filepath.IsAbs(src) {
		candidates = append(candidates, filepath.Join(filepath.Dir(src), clientFile))
	}
	candidates = append(candidates, clientFile)
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return candidates[0] // for the error message
}
