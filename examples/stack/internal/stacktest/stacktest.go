// Package stacktest checks, with the module's Go client, that an example of
// examples/stack serves Socket.IO: over long-polling alone, over WebSocket
// alone, and with the usual upgrade from one to the other.
package stacktest

import (
	"context"
	"testing"
	"time"

	"github.com/socketio-go/socketio/client"
)

// Check connects to rawURL (the server's base URL, with the namespace "/")
// with opts (Path, TLSConfig...) and each choice of transports, and checks
// that the app's "welcome" arrives with the expected transport and that an
// "echo" comes back.
func Check(t *testing.T, rawURL string, opts client.Options) {
	t.Helper()
	for _, tc := range []struct {
		name       string
		transports []string
		want       string // transport in the end
	}{
		{"polling", []string{client.TransportPolling}, client.TransportPolling},
		{"websocket", []string{client.TransportWebSocket}, client.TransportWebSocket},
		{"upgrade", nil, client.TransportWebSocket},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			o := opts
			o.Transports = tc.transports
			o.DisableReconnection = true
			m, err := client.NewManager(rawURL, &o)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			upgraded := make(chan string, 1)
			m.OnUpgrade(func(transport string) { upgraded <- transport })
			welcome := make(chan map[string]string, 1)
			s := m.Socket("/", nil)
			s.On("welcome", func(e *client.Event) {
				var w map[string]string
				if err := e.Decode(&w); err != nil {
					t.Error(err)
				}
				welcome <- w
			})
			if err := s.Connect(ctx); err != nil {
				t.Fatalf("connect to %s (path %q): %v", rawURL, o.Path, err)
			}
			select {
			case w := <-welcome:
				if w["id"] != s.ID() {
					t.Errorf("welcome %v, socket id %s", w, s.ID())
				}
			case <-ctx.Done():
				t.Fatal("no welcome")
			}
			reply, err := s.EmitWithAck(ctx, "echo", "hello", 42)
			if err != nil {
				t.Fatal(err)
			}
			var text string
			var n int
			if err := reply.Decode(&text, &n); err != nil || text != "hello" || n != 42 {
				t.Fatalf("echo answered %s (%v)", reply, err)
			}
			if tc.transports == nil {
				// The upgrade happens in the background: wait for it.
				select {
				case got := <-upgraded:
					if got != tc.want {
						t.Fatalf("upgraded to %s, want %s", got, tc.want)
					}
				case <-ctx.Done():
					t.Fatalf("no upgrade; transport %s", m.Transport())
				}
			} else if got := m.Transport(); got != tc.want {
				t.Fatalf("transport %s, want %s", got, tc.want)
			}
		})
	}
}
