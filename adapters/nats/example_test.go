package nats_test

import (
	"log"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/socketio-go/socketio"
	sionats "github.com/socketio-go/socketio/adapters/nats"
)

// A cluster on core NATS: broadcasts, rooms and requests reach every
// server with the same prefix.
func ExampleNewAdapter() {
	nc, err := nats.Connect(nats.DefaultURL, nats.MaxReconnects(-1))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	srv := socketio.NewServer(&socketio.Options{
		Adapter: sionats.NewAdapter(nc, sionats.Options{Prefix: "chat"}),
	})
	http.Handle("/socket.io/", srv)
	log.Fatal(http.ListenAndServe(":3000", nil))
}

// A cluster on NATS JetStream with connection state recovery: a client
// that comes back within two minutes, on any server, even after the death
// of its own, gets its id, rooms and data back and every packet it missed.
func ExampleNewJetStreamAdapter() {
	nc, err := nats.Connect(nats.DefaultURL, nats.MaxReconnects(-1))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	srv := socketio.NewServer(&socketio.Options{
		Adapter: sionats.NewJetStreamAdapter(nc, sionats.JetStreamOptions{
			Options:  sionats.Options{Prefix: "chat"},
			MaxBytes: 1 << 30, // the stream keeps at most 1 GiB of broadcasts
		}),
		ConnectionStateRecovery: &socketio.ConnectionStateRecovery{MaxDisconnectionDuration: 2 * time.Minute},
	})
	http.Handle("/socket.io/", srv)
	log.Fatal(http.ListenAndServe(":3000", nil))
}
