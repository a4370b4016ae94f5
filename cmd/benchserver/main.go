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
	"flag"
	"os"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/internal/benchapp"
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
	what := "benchserver"
	if *recovery {
		opts = &socketio.Options{ConnectionStateRecovery: &socketio.ConnectionStateRecovery{
			MaxDisconnectionDuration: 2 * time.Minute,
			RunMiddlewares:           false, // skipMiddlewares: true
		}}
		what += " (connection state recovery on)"
	}
	srv := socketio.NewServer(opts)
	benchapp.Register(srv)
	benchapp.Run(srv, port, *pprofAddr, what)
}
