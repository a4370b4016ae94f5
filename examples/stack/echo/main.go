// Command echo mounts the Socket.IO server in an Echo instance, next to the
// application's other routes.
//
//	go run ./stack/echo [-addr 127.0.0.1:3000]
package main

import (
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/examples/stack/app"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "listen `address`")
	flag.Parse()
	srv := app.New(nil)
	hs := &http.Server{Addr: *addr, Handler: newEcho(srv), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("listening http://%s", *addr)
	log.Fatal(hs.ListenAndServe())
}

// newEcho routes the API and the Socket.IO server.
func newEcho(srv *socketio.Server) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.Use(middleware.Recover())
	e.GET("/api/health", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	// echo.WrapHandler hands the request to the Server as is; Echo's
	// Response is an http.Hijacker, which the WebSocket upgrade needs.
	// middleware.Gzip and middleware.Timeout would break long-polling and
	// WebSocket: keep them off this route (Skipper).
	e.Any("/socket.io/*", echo.WrapHandler(srv))
	return e
}
