// Command gin mounts the Socket.IO server in a gin engine, next to the
// application's other routes.
//
//	go run ./stack/gin [-addr 127.0.0.1:3000]
package main

import (
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/examples/stack/app"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "listen `address`")
	flag.Parse()
	srv := app.New(nil)
	hs := &http.Server{Addr: *addr, Handler: newEngine(srv), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("listening http://%s", *addr)
	log.Fatal(hs.ListenAndServe())
}

// newEngine routes the API and the Socket.IO server.
func newEngine(srv *socketio.Server) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	r.GET("/api/health", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	// gin.WrapH hands the request to the Server as is; gin's
	// ResponseWriter is an http.Hijacker, which the WebSocket upgrade
	// needs. Any: GET and POST (long-polling), OPTIONS (CORS preflights).
	r.Any("/socket.io/*any", gin.WrapH(srv))
	return r
}
