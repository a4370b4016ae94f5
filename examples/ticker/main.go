// Command ticker is a live price ticker: the Go Socket.IO server pushes
// price updates to the rooms of the symbols the pages subscribed to, and
// each page draws them on a chart as they arrive. A page may also buy or
// sell, which moves the price at once for every subscriber of the symbol.
//
// Usage, from the examples directory (see README.md):
//
//	(cd ticker && npm ci)   # fetches the browser client into ticker/node_modules
//	go run ./ticker [-addr 127.0.0.1:3000] [-interval 500ms]
//
// Routes:
//
//	/                            the page (static/, embedded in the binary)
//	/socket.io/                  the Socket.IO server
//	/socket.io/socket.io.min.js  the official browser client (Options.ServeClient)
package main

import (
	"context"
	"embed"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/socketio-go/socketio/examples/internal/webapp"
)

//go:embed static
var staticFiles embed.FS

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		fmt.Fprintf(os.Stderr, "ticker: %v\n", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	addr := flag.String("addr", "127.0.0.1:3000", "listen `address`")
	interval := flag.Duration("interval", 500*time.Millisecond, "time between two price updates of a symbol")
	clientDir := flag.String("client", "", "`directory` of socket.io-client's dist files (default: "+webapp.ClientDist+" next to this source file)")
	flag.Parse()

	_, src, _, _ := runtime.Caller(0)
	client, dir, err := webapp.FindClient(*clientDir, filepath.Dir(src))
	if err != nil {
		return err
	}
	log.Info("browser client", "dir", dir)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	t := newTicker(log, client)
	go t.run(ctx, *interval)
	return webapp.Serve(ctx, log, *addr, newMux(t), t.srv)
}

// newMux routes the page and the Socket.IO server (which also serves the
// browser client under its path).
func newMux(t *ticker) *http.ServeMux {
	page, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // cannot happen: "static" is embedded
	}
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServerFS(page))
	mux.Handle("/socket.io/", t.srv)
	return mux
}
