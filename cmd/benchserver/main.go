// Command benchserver is the Socket.IO server the benchmark suite
// (benchmarks/, see benchmarks/README.md) measures. It does exactly what the
// suite's Node reference server (benchmarks/node/server.js) does, and
// nothing else:
//
//   - it listens on 127.0.0.1:$PORT (default 3000) with the default options
//     (pingInterval 25s, pingTimeout 20s, maxHttpBufferSize 1e6, both
//     transports);
//   - on namespace "/", an event "bcast" is broadcast with the same
//     arguments to every socket of the namespace as event "bcast" (like
//     io.emit("bcast", ...args));
//   - an event "echo" is acknowledged with the same arguments.
//
// With PPROF=127.0.0.1:6060 (or the -pprof flag), net/http/pprof is served
// on that separate address, for profiles; it is off by default. Only
// loopback addresses are accepted for it.
//
// With RECOVERY=1 (or the -recovery flag), connection state recovery is on
// (Options.ConnectionStateRecovery with a MaxDisconnectionDuration of 2
// minutes and the middlewares skipped), as benchmarks/node/server.js with
// RECOVERY=1 (connectionStateRecovery: {maxDisconnectionDuration: 120000,
// skipMiddlewares: true}); it is off by default.
//
// Usage:
//
//	PORT=3000 go run ./cmd/benchserver
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/socketio-go/socketio"
)

func main() {
	pprofAddr := flag.String("pprof", os.Getenv("PPROF"), "serve net/http/pprof on this loopback address (off when empty)")
	recovery := flag.Bool("recovery", os.Getenv("RECOVERY") == "1", "turn connection state recovery on (2 minutes, middlewares skipped)")
	flag.Parse()
	port := os.Getenv("PORT")
	if port == "" {
		port = "3000"
	}

	var opts *socketio.Options // nil: the socket.io 4.x defaults
	if *recovery {
		opts = &socketio.Options{ConnectionStateRecovery: &socketio.ConnectionStateRecovery{
			MaxDisconnectionDuration: 2 * time.Minute,
			RunMiddlewares:           false, // skipMiddlewares: true
		}}
	}
	srv := socketio.NewServer(opts)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("bcast", func(e *socketio.Event) {
			_ = srv.Emit("bcast", e.Args().Spread()...)
		})
		s.On("echo", func(e *socketio.Event) {
			_ = e.Ack(e.Args().Spread()...)
		})
	})

	if *pprofAddr != "" {
		go servePprof(*pprofAddr)
	}

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if *recovery {
		log.Printf("benchserver listening on %s (connection state recovery on)", ln.Addr())
	} else {
		log.Printf("benchserver listening on %s", ln.Addr())
	}
	select {
	case err := <-errc:
		if !errors.Is(err, socketio.ErrServerClosed) {
			log.Fatal(err)
		}
		return
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Print(err)
	}
}

// servePprof serves the profiling endpoints on a loopback address.
func servePprof(addr string) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		log.Fatalf("PPROF: %v", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		log.Fatalf("PPROF: %q is not a loopback address", addr)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("pprof on http://%s/debug/pprof/", addr)
	if err := hs.ListenAndServe(); err != nil {
		log.Printf("pprof: %v", err)
	}
}
