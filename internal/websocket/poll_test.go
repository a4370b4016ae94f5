package websocket

import (
	"runtime"
	"testing"
	"time"
)

// readOne reads a message from c, which must be buffered or arrive, and
// checks it.
func readOne(t *testing.T, c *Conn, want string) {
	t.Helper()
	_, data, err := c.ReadMessage()
	if err != nil || string(data) != want {
		t.Fatalf("ReadMessage = %q, %v; want %q", data, err, want)
	}
}

// TestPollRereadsAfterLongTurn: a message that arrives while the
// goroutines the last one started run for long is read by Poll in the
// same turn (the broadcast case of docs/performance.md, shallow queues),
// and after a read again found data the next drained poll reads again
// even after a short turn.
func TestPollRereadsAfterLongTurn(t *testing.T) {
	srv, cli := newPair(t, nil, nil)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))

	if err := cli.WriteMessage(TextMessage, []byte("first")); err != nil {
		t.Fatal(err)
	}
	if !srv.Poll() {
		t.Fatal("Poll with a message on the way reported idle")
	}
	readOne(t, srv, "first")
	if !srv.drained {
		t.Fatal("the read of a lone message did not mark the socket drained")
	}

	// What the first message started: it sends the peer's next message
	// and keeps the only P for longer than rereadAfter. With GOMAXPROCS
	// 1 it runs inside Poll's yield.
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := cli.WriteMessage(TextMessage, []byte("second")); err != nil {
			t.Error(err)
		}
		for start := time.Now(); time.Since(start) < 4*rereadAfter; {
		}
	}()
	if !srv.Poll() {
		t.Fatal("Poll after a long turn did not read the message that arrived during it")
	}
	<-done
	readOne(t, srv, "second")
	if srv.reread != rereadMax {
		t.Fatalf("reread = %d after a read again found data, want %d", srv.reread, rereadMax)
	}

	// Due now whatever the turn: the data is read although nothing ran.
	if err := cli.WriteMessage(TextMessage, []byte("third")); err != nil {
		t.Fatal(err)
	}
	srv.drained = true // as after a short read
	if !srv.Poll() {
		t.Fatal("Poll after a read again found data did not read again")
	}
	if srv.reread != rereadMax {
		t.Fatalf("reread = %d, want %d", srv.reread, rereadMax)
	}
	readOne(t, srv, "third")
}
