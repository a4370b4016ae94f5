package webtransport_test

import (
	"context"
	"log"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/transport/webtransport"
)

// A Socket.IO server on HTTPS (TCP port 443) and WebTransport (UDP port
// 443), with the same certificate and path. Browsers connect to
// https://host/ by long-polling and upgrade to WebTransport, or connect
// with transports: ["webtransport"].
func Example() {
	sio := socketio.NewServer(&socketio.Options{
		Transports: []string{"polling", "websocket", "webtransport"},
	})
	sio.OnConnection(func(s *socketio.Socket) {
		log.Printf("%s connected over %s", s.ID(), s.Transport())
	})
	wt, err := webtransport.New(sio.Engine(), &webtransport.Options{
		Addr:     ":443",
		CertFile: "cert.pem",
		KeyFile:  "key.pem",
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", sio)
	hs := &http.Server{Addr: ":443", Handler: mux}
	go func() { log.Println(hs.ListenAndServeTLS("cert.pem", "key.pem")) }()
	go func() { log.Println(wt.ListenAndServe()) }()

	stop, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	<-stop.Done()
	ctx, cancelShutdown := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelShutdown()
	_ = hs.Shutdown(ctx)
	_ = sio.Shutdown(ctx) // closes the sessions, WebTransport ones included
	_ = wt.Shutdown(ctx)
}
