package admin_test

import (
	"log"
	"net/http"
	"os"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/admin"
)

func ExampleInstrument() {
	srv := socketio.NewServer(nil)
	defer srv.Close()
	a, err := admin.Instrument(srv, admin.Options{
		Auth: &admin.BasicAuth{
			Username: "admin",
			// A bcrypt hash, from bcrypt.GenerateFromPassword or htpasswd -B.
			PasswordHash: os.Getenv("ADMIN_PASSWORD_HASH"),
		},
	})
	if err != nil {
		log.Print(err) // ErrInvalidHash when the variable is unset
		return
	}
	defer a.Close()
	// Point the dashboard (https://admin.socket.io, or @socket.io/admin-ui's
	// ui/dist) at this server, path /socket.io.
	http.Handle("/socket.io/", srv)
}
