package engineio

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/socketio-go/socketio/engineio/packet"
)

// TestSendBroadcast: SendBroadcast queues like SendPackets (atomically, in
// order with SendPackets, within the queue limit); only its writer's start
// differs.
func TestSendBroadcast(t *testing.T) {
	ts := newTestServer(t, &Options{WriteQueueSize: 1 << 16})
	c := ts.dial("EIO=4&transport=websocket")
	if open := readText(t, c); open[0] != '0' {
		t.Fatalf("open packet %q", open)
	}
	sess := <-ts.app.opened
	const n = 2000
	for i := range n {
		pkts := []packet.Packet{
			{Type: packet.Message, Data: fmt.Appendf(nil, "b%d", i)},
			{Type: packet.Message, Data: fmt.Appendf(nil, "b%d'", i)},
		}
		send := sess.SendBroadcast
		if i%3 == 0 {
			send = sess.SendPackets
		}
		if err := send(pkts, false); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	for i := range n {
		if got, want := readText(t, c), fmt.Sprintf("4b%d", i); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
		if got, want := readText(t, c), fmt.Sprintf("4b%d'", i); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}

	// The queue limit holds as for SendPackets.
	ts2 := newTestServer(t, &Options{WriteQueueSize: 3})
	sid := ts2.openPolling()
	s2 := ts2.srv.Session(sid)
	for i := range 3 {
		if err := s2.SendBroadcast([]packet.Packet{{Type: packet.Message, Data: []byte("x")}}, false); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if err := s2.SendBroadcast([]packet.Packet{{Type: packet.Message, Data: []byte("x")}}, false); !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("over the limit: %v", err)
	}
	if err := s2.SendBroadcast([]packet.Packet{{Type: packet.Message, Data: []byte("x")}}, false); !errors.Is(err, ErrSessionClosed) {
		t.Fatalf("after the close: %v", err)
	}
}

// TestSendBroadcastFullSocket: broadcasts to a client that does not read
// fill its socket; the batch writer hands the rest to the session's
// writer, and the client gets every message, in order, once it reads.
func TestSendBroadcastFullSocket(t *testing.T) {
	ts := newTestServer(t, &Options{WriteQueueSize: 1 << 20})
	c := ts.dial("EIO=4&transport=websocket")
	readText(t, c)
	sess := <-ts.app.opened
	msg := func(i int) string { return fmt.Sprintf("%06d%03000d", i, 0) }
	// One at a time, each written before the next, until one is not
	// written at once: the socket is full and the batch writer left part
	// of a frame to the session's writer.
	n := 0
	for ; n < 10_000; n++ {
		if err := sess.SendBroadcast([]packet.Packet{{Type: packet.Message, Data: []byte(msg(n))}}, false); err != nil {
			t.Fatalf("send %d: %v", n, err)
		}
		select {
		case <-sess.Flush():
			continue
		case <-time.After(100 * time.Millisecond):
		}
		n++
		break
	}
	// Then a burst, queued behind.
	for range 1000 {
		if err := sess.SendBroadcast([]packet.Packet{{Type: packet.Message, Data: []byte(msg(n))}}, false); err != nil {
			t.Fatalf("send %d: %v", n, err)
		}
		n++
	}
	flushed := sess.Flush()
	for i := range n {
		if got, want := readText(t, c), "4"+msg(i); got != want {
			t.Fatalf("message %d: got %.12q", i, got)
		}
	}
	select {
	case <-flushed:
	case <-time.After(5 * time.Second):
		t.Fatal("Flush not released once everything was written")
	}
}
