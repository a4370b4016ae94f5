package socketio_test

import (
	"context"
	"errors"
	"log"
	"net/http"

	"github.com/socketio-go/socketio"
)

// Socket.IO v2 clients (socket.io-client 2.x) next to v3/v4 ones, as with
// the official server's allowEIO3. A v2 client names its namespace's auth
// in a query string, io("https://host/admin?token=x"), and receives a
// middleware's refusal as an "error" event.
func ExampleOptions_allowEIO3() {
	srv := socketio.NewServer(&socketio.Options{AllowEIO3: true})
	admin := srv.Of("/admin")
	admin.Use(func(ctx context.Context, s *socketio.Socket) error {
		if s.Handshake().Auth["token"] != "secret" {
			return errors.New("not authorized") // v2: socket.on("error", ...) gets "not authorized"
		}
		return nil
	})
	srv.OnConnection(func(s *socketio.Socket) {
		s.Join("news")
		// One broadcast reaches v2 and v4 clients alike.
		_ = srv.To("news").Emit("hello", s.ID())
	})
	http.Handle("/socket.io/", srv)
	log.Fatal(http.ListenAndServe(":3000", nil))
}
