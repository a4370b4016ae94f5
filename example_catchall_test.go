package socketio_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"regexp"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/parser"
	"github.com/socketio-go/socketio/parser/msgpackparser"
)

// Speak socket.io-msgpack-parser: set the same parser on the server and on
// its clients (in JavaScript: { parser: require("socket.io-msgpack-parser") }
// on both sides). Handlers do not change.
func ExampleOptions_parser() {
	srv := socketio.NewServer(&socketio.Options{Parser: msgpackparser.Parser{}})
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("upload", func(e *socketio.Event) {
			var name string
			var data []byte
			if e.Decode(&name, &data) == nil {
				_ = e.Ack(fmt.Sprintf("%s: %d bytes", name, len(data)))
			}
		})
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := client.Connect(ctx, hs.URL, &client.Options{Parser: msgpackparser.Parser{}}, nil)
	if err != nil {
		panic(err)
	}
	defer s.Manager().Close()
	reply, err := s.EmitWithAck(ctx, "upload", "photo.png", []byte{0x89, 'P', 'N', 'G'})
	if err != nil {
		panic(err)
	}
	var text string
	_ = reply.Decode(&text)
	fmt.Println(text)
	// Output: photo.png: 4 bytes
}

// Catch-all handlers: PrependAny runs before the handlers added so far,
// and each registration returns the function that removes it.
func ExampleSocket_PrependAny() {
	srv := socketio.NewServer(nil)
	done := make(chan struct{})
	srv.OnConnection(func(s *socketio.Socket) {
		s.OnAny(func(e *socketio.Event) { fmt.Println("any:", e.Name()) })
		removeFirst := s.PrependAny(func(e *socketio.Event) { fmt.Println("first:", e.Name()) })
		s.On("ping", func(e *socketio.Event) {
			removeFirst() // from the next event on
			_ = e.Ack()
		})
		s.On("bye", func(e *socketio.Event) {
			s.OffAny() // every catch-all handler
			_ = e.Ack()
			close(done)
		})
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := client.Connect(ctx, hs.URL, nil, nil)
	if err != nil {
		panic(err)
	}
	defer s.Manager().Close()
	for _, ev := range []string{"ping", "ping", "bye"} {
		if _, err := s.EmitWithAck(ctx, ev); err != nil {
			panic(err)
		}
	}
	<-done
	// Output:
	// first: ping
	// any: ping
	// any: ping
	// any: bye
}

// Outgoing catch-all handlers see what the socket emits and the
// broadcasts that reach it; the arguments of a broadcast are its raw JSON.
func ExampleSocket_OnAnyOutgoing() {
	srv := socketio.NewServer(nil)
	seen := make(chan string, 2)
	srv.OnConnection(func(s *socketio.Socket) {
		s.OnAnyOutgoing(func(event string, args []any) {
			if rv, ok := args[0].(parser.RawValue); ok {
				seen <- fmt.Sprintf("%s %s (broadcast)", event, rv.JSON)
			} else {
				seen <- fmt.Sprintf("%s %v", event, args[0])
			}
		})
		_ = s.Emit("welcome", 1)
		_ = srv.Emit("news", map[string]string{"title": "hi"})
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := client.Connect(ctx, hs.URL, nil, nil)
	if err != nil {
		panic(err)
	}
	defer s.Manager().Close()
	fmt.Println(<-seen)
	fmt.Println(<-seen)
	// Output:
	// welcome 1
	// news {"title":"hi"} (broadcast)
}

// The room events of a namespace's adapter, as the official adapter's
// "create-room", "join-room", "leave-room" and "delete-room".
func ExampleNamespace_Adapter() {
	srv := socketio.NewServer(nil)
	events := make(chan string, 10)
	if src, ok := srv.Of("/").Adapter().(adapter.RoomEventSource); ok {
		src.OnRoomEvent(func(e adapter.RoomEvent) {
			if e.Room == "lobby" { // not the sockets' own rooms
				events <- e.Type.String()
			}
		})
	}
	srv.OnConnection(func(s *socketio.Socket) {
		s.Join("lobby")
		s.Leave("lobby")
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := client.Connect(ctx, hs.URL, nil, nil)
	if err != nil {
		panic(err)
	}
	defer s.Manager().Close()
	for range 4 {
		fmt.Println(<-events)
	}
	// Output:
	// create-room
	// join-room
	// leave-room
	// delete-room
}

// With CleanupEmptyChildNamespaces, a dynamic namespace is removed when its
// last socket leaves, and created again by the next connection.
func ExampleOptions_cleanupEmptyChildNamespaces() {
	srv := socketio.NewServer(&socketio.Options{CleanupEmptyChildNamespaces: true})
	rooms := srv.OfRegexp(regexp.MustCompile(`^/room-\d+$`))
	left := make(chan struct{})
	rooms.OnConnection(func(s *socketio.Socket) {
		s.OnDisconnect(func(socketio.DisconnectReason) { close(left) })
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := client.Connect(ctx, hs.URL+"/room-1", nil, nil)
	if err != nil {
		panic(err)
	}
	defer s.Manager().Close()
	fmt.Println("children:", len(rooms.Children()))
	s.Disconnect()
	<-left
	// Removed as the socket leaves, which its disconnect handlers do not
	// wait for.
	for deadline := time.Now().Add(5 * time.Second); len(rooms.Children()) > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	fmt.Println("children:", len(rooms.Children()))
	// Output:
	// children: 1
	// children: 0
}
