// Command chi mounts the Socket.IO server in a chi router, next to the
// application's other routes and behind chi's middlewares.
//
//	go run ./stack/chi [-addr 127.0.0.1:3000]
package main

import (
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/examples/stack/app"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "listen `address`")
	flag.Parse()
	srv := app.New(nil)
	hs := &http.Server{Addr: *addr, Handler: newRouter(srv), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("listening http://%s", *addr)
	log.Fatal(hs.ListenAndServe())
}

// newRouter routes the API and the Socket.IO server.
func newRouter(srv *socketio.Server) http.Handler {
	r := chi.NewRouter()
	// These middlewares keep the http.Hijacker of the ResponseWriter, which
	// the WebSocket upgrade needs. middleware.Timeout would cut the
	// long-polls and middleware.Compress buffers responses: keep them off
	// the Socket.IO routes.
	r.Use(middleware.RequestID, middleware.Recoverer)
	r.Get("/api/health", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})
	// Every method (GET and POST for long-polling, GET for the WebSocket
	// upgrade, OPTIONS for CORS preflights) under the path, with the
	// trailing wildcard.
	r.Handle("/socket.io/*", srv)
	return r
}
