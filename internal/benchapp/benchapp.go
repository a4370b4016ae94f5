// Package benchapp is the Go side of the benchmark suite's server contract
// (benchmarks/README.md), shared by cmd/benchserver and the benchmarks
// module's cmd/clusterserver: on "/", "bcast" is broadcast with the same
// arguments to every socket of the namespace and "echo" is acknowledged
// with the same arguments; the server listens on 127.0.0.1 and stops on
// SIGINT or SIGTERM; net/http/pprof may be served on a loopback address.
package benchapp

import (
	"context"
	"errors"
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

// Register installs the contract's handlers on srv.
func Register(srv *socketio.Server) {
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("bcast", func(e *socketio.Event) {
			_ = srv.Emit("bcast", e.Args().Spread()...)
		})
		s.On("echo", func(e *socketio.Event) {
			_ = e.Ack(e.Args().Spread()...)
		})
	})
}

// Run serves srv on 127.0.0.1:port, with pprof on pprofAddr when it is not
// empty, until SIGINT or SIGTERM, then shuts srv down. what describes the
// server in the "listening" log line.
func Run(srv *socketio.Server, port, pprofAddr, what string) {
	if pprofAddr != "" {
		go servePprof(pprofAddr)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Printf("%s listening on %s", what, ln.Addr())
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
