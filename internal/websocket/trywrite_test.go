package websocket

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// fillUntilPending try-writes random binary messages (which compression
// cannot shrink) to c, whose peer is not reading, until the socket cannot take one whole: it returns the
// messages accepted, the last of them partly buffered in c.
func fillUntilPending(t *testing.T, c *Conn, size int) [][]byte {
	t.Helper()
	var sent [][]byte
	for i := 0; i < 200_000; i++ {
		m := payload(size, BinaryMessage, uint64(i))
		accepted, pending, err := c.TryWriteMessages([]Message{{Type: BinaryMessage, Data: m}})
		if err != nil || !accepted {
			t.Fatalf("TryWriteMessages #%d = %v, %v, %v", i, accepted, pending, err)
		}
		sent = append(sent, m)
		if pending {
			return sent
		}
	}
	t.Fatal("the socket never filled up")
	return nil
}

func TestTryWriteMessages(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			var so *UpgradeOptions
			var co *DialOptions
			if compress {
				so = &UpgradeOptions{Compression: &CompressionOptions{Threshold: -1}}
				co = &DialOptions{Compression: &CompressionOptions{}}
			}
			srv, cli := newPair(t, so, co)
			if (srv.dfl != nil) != compress {
				t.Fatalf("compression negotiated: %v", srv.dfl != nil)
			}
			sent := fillUntilPending(t, srv, 4000)

			// While frames are buffered, no other try-write is accepted:
			// order is the writer's to keep.
			if accepted, _, err := srv.TryWriteMessages([]Message{{Type: TextMessage, Data: []byte("late")}}); accepted || err != nil {
				t.Fatalf("TryWriteMessages with frames pending = %v, %v", accepted, err)
			}

			got := make(chan error, 1)
			last := []byte("after the flush")
			go func() {
				for i, want := range append(sent, last) {
					_, data, err := cli.ReadMessage()
					if err != nil {
						got <- fmt.Errorf("message %d: %w", i, err)
						return
					}
					if !bytes.Equal(data, want) {
						got <- fmt.Errorf("message %d: got %.20q (%d bytes), want %.20q (%d bytes)", i, data, len(data), want, len(want))
						return
					}
				}
				got <- nil
			}()
			if err := srv.Flush(); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			if err := srv.WriteMessage(TextMessage, last); err != nil {
				t.Fatalf("WriteMessage: %v", err)
			}
			if err := await(t, got); err != nil {
				t.Fatal(err)
			}
			// Flushing with nothing pending does nothing.
			if err := srv.Flush(); err != nil {
				t.Fatalf("second Flush: %v", err)
			}
		})
	}
}

func TestTryWriteMessagesRefused(t *testing.T) {
	srv, cli := newPair(t, nil, nil)
	big := make([]byte, MaxTryWrite+1)
	if accepted, _, err := srv.TryWriteMessages([]Message{{Type: BinaryMessage, Data: big}}); accepted || err != nil {
		t.Fatalf("oversized: %v, %v", accepted, err)
	}
	// A client's frames are masked: not for the fast path.
	if accepted, _, err := cli.TryWriteMessages([]Message{{Type: TextMessage, Data: []byte("x")}}); accepted || err != nil {
		t.Fatalf("client: %v, %v", accepted, err)
	}
	if _, _, err := srv.TryWriteMessages([]Message{{Type: 9}}); err == nil {
		t.Fatal("an invalid type was accepted")
	}
	// Accepted and written whole; the peer reads it.
	accepted, pending, err := srv.TryWriteMessages([]Message{{Type: TextMessage, Data: []byte("a")}, {Type: BinaryMessage, Data: []byte{1, 2}}})
	if !accepted || pending || err != nil {
		t.Fatalf("small write: %v, %v, %v", accepted, pending, err)
	}
	if typ, data := mustRead(t, cli); typ != TextMessage || string(data) != "a" {
		t.Fatalf("got %v %q", typ, data)
	}
	if typ, data := mustRead(t, cli); typ != BinaryMessage || !bytes.Equal(data, []byte{1, 2}) {
		t.Fatalf("got %v %q", typ, data)
	}
	srv.CloseNow()
	if _, _, err := srv.TryWriteMessages([]Message{{Type: TextMessage, Data: []byte("x")}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

// TestTryWritePendingBeforeClose: the close frame goes after the frames
// still buffered, so the peer reads every message, then the close.
func TestTryWritePendingBeforeClose(t *testing.T) {
	srv, cli := newPair(t, nil, nil)
	sent := fillUntilPending(t, srv, 2000)
	done := make(chan error, 1)
	go func() {
		for i, want := range sent {
			_, data, err := cli.ReadMessage()
			if err != nil || !bytes.Equal(data, want) {
				done <- fmt.Errorf("message %d: %d bytes, %v", i, len(data), err)
				return
			}
		}
		_, _, err := cli.ReadMessage()
		done <- err
	}()
	if err := srv.Close(StatusGoingAway, "bye"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var ce *CloseError
	if err := await(t, done); !errors.As(err, &ce) || ce.Code != StatusGoingAway {
		t.Fatalf("want the close frame after the messages, got %v", err)
	}
}
