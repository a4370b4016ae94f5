// Command uiserver is the server of the admin package's browser test: a
// socketio.Server instrumented with admin.Instrument, which also serves
// the official dashboard's files (@socket.io/admin-ui's ui/dist) at "/",
// so that the dashboard and the server share an origin.
//
//	uiserver -ui node_modules/@socket.io/admin-ui/ui/dist
//
// The bcrypt hash of the password is read from $ADMIN_PASSWORD_HASH. It
// prints "listening <URL>" once it serves, then one line per socket
// disconnection: "disconnect <namespace> <socket id> <reason>".
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/admin"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	ui := flag.String("ui", "", "directory of the dashboard's files")
	flag.Parse()

	srv := socketio.NewServer(nil)
	onConn := func(s *socketio.Socket) {
		s.Join("lobby")
		s.OnDisconnect(func(r socketio.DisconnectReason) {
			fmt.Printf("disconnect %s %s %s\n", s.Namespace().Name(), s.ID(), r)
		})
	}
	srv.OnConnection(onConn)
	srv.Of("/chat").OnConnection(onConn)
	if _, err := admin.Instrument(srv, admin.Options{
		Auth:     &admin.BasicAuth{Username: "admin", PasswordHash: os.Getenv("ADMIN_PASSWORD_HASH")},
		ServerID: "go-test",
	}); err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.Handle("/", http.FileServer(http.Dir(*ui)))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening http://%s\n", ln.Addr())
	log.Fatal(http.Serve(ln, mux))
}
