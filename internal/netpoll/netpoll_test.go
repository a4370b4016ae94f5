//go:build linux

package netpoll

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/leakcheck"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

func pair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func TestWaitCancelClose(t *testing.T) {
	p, err := New(func(f func()) { go f() })
	if err != nil {
		t.Fatal(err)
	}
	client, server := pair(t)
	ready := make(chan struct{}, 2)
	if err := p.Wait(server.(*net.TCPConn), func() { ready <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ready:
		t.Fatal("called before any data")
	case <-time.After(20 * time.Millisecond):
	}
	client.Write([]byte("x"))
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("not called when data arrived")
	}
	// One shot: not called again until re-armed, even with more data.
	client.Write([]byte("y"))
	select {
	case <-ready:
		t.Fatal("called twice for one Wait")
	case <-time.After(20 * time.Millisecond):
	}
	// Data already there when armed: called at once (level triggered).
	if err := p.Wait(server.(*net.TCPConn), func() { ready <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("not called for data that was already there")
	}
	// Cancelled: never called.
	buf := make([]byte, 8)
	server.Read(buf)
	if err := p.Wait(server.(*net.TCPConn), func() { ready <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	p.Cancel(server.(*net.TCPConn))
	client.Write([]byte("z"))
	select {
	case <-ready:
		t.Fatal("called after Cancel")
	case <-time.After(20 * time.Millisecond):
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(server.(*net.TCPConn), func() {}); err != ErrClosed {
		t.Fatalf("Wait after Close: %v", err)
	}
}

func TestPeerCloseWakes(t *testing.T) {
	p, err := New(func(f func()) { go f() })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	client, server := pair(t)
	ready := make(chan struct{}, 1)
	if err := p.Wait(server.(*net.TCPConn), func() { ready <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	client.Close()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("not called when the peer closed")
	}
}

// TestManyRounds: connections become readable while the loop is busy
// dispatching others, over and over; every notification arrives (a lost
// edge would leave a round waiting forever).
func TestManyRounds(t *testing.T) {
	p, err := New(func(f func()) { go f() })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const conns, rounds = 50, 200
	type end struct{ c, s net.Conn }
	ends := make([]end, conns)
	for i := range ends {
		c, s := pair(t)
		ends[i] = end{c, s}
	}
	done := make(chan int, conns)
	for i, e := range ends {
		var arm func(left int)
		buf := make([]byte, 1)
		arm = func(left int) {
			if err := p.Wait(e.s.(Conn), func() {
				if _, err := e.s.Read(buf); err != nil {
					t.Error(err)
					return
				}
				if left == 1 {
					done <- i
					return
				}
				arm(left - 1)
				// The next byte is written only once re-armed, from
				// another goroutine, racing the loop.
				go func() { _, _ = e.c.Write([]byte{1}) }()
			}); err != nil {
				t.Error(err)
			}
		}
		arm(rounds)
		go func() { _, _ = e.c.Write([]byte{1}) }()
	}
	timeout := time.After(20 * time.Second)
	for range conns {
		select {
		case <-done:
		case <-timeout:
			t.Fatal("a notification was lost")
		}
	}
}
