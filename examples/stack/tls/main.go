// Command tls serves Socket.IO over HTTPS (and WSS). Browsers then connect
// with io("https://host:port"); an https page must use https/wss, or the
// browser blocks the connection as mixed content.
//
//	go run ./stack/tls -cert cert.pem -key key.pem [-addr 127.0.0.1:3443]
//
// For a local try, a self-signed pair (that browsers will warn about):
//
//	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
//	  -keyout key.pem -out cert.pem -days 7 -subj /CN=localhost \
//	  -addext subjectAltName=DNS:localhost,IP:127.0.0.1
package main

import (
	"crypto/tls"
	"flag"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/examples/stack/app"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3443", "listen `address`")
	cert := flag.String("cert", "cert.pem", "certificate `file` (PEM)")
	key := flag.String("key", "key.pem", "private key `file` (PEM)")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := app.New(nil)
	log.Printf("listening https://%s", ln.Addr())
	log.Fatal(serveTLS(ln, srv, *cert, *key))
}

// serveTLS serves srv over TLS on ln until the listener is closed.
//
// net/http negotiates HTTP/2 with clients that offer it: long-polling
// works over HTTP/2, and WebSocket clients (browsers included) open their
// upgrade on an HTTP/1.1 connection of their own.
func serveTLS(ln net.Listener, srv *socketio.Server, certFile, keyFile string) error {
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
	}
	return hs.ServeTLS(ln, certFile, keyFile)
}
