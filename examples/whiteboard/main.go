// Command whiteboard is a collaborative whiteboard: what one page draws
// appears on every other page, each page sees the others' cursors move,
// and a page that opens later gets the drawing so far (the server keeps
// it, bounded).
//
// Usage, from the examples directory (see README.md):
//
//	(cd whiteboard && npm ci)   # fetches the browser client into whiteboard/node_modules
//	go run ./whiteboard [-addr 127.0.0.1:3000]
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

	"github.com/socketio-go/socketio/examples/internal/webapp"
)

//go:embed static
var staticFiles embed.FS

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		fmt.Fprintf(os.Stderr, "whiteboard: %v\n", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	addr := flag.String("addr", "127.0.0.1:3000", "listen `address`")
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

	b := newBoard(log, client)
	return webapp.Serve(ctx, log, *addr, newMux(b), b.srv)
}

func newMux(b *board) *http.ServeMux {
	page, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // cannot happen: "static" is embedded
	}
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServerFS(page))
	mux.Handle("/socket.io/", b.srv)
	return mux
}
