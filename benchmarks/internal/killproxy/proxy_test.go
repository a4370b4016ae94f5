package killproxy

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// echoServer accepts connections and echoes them; every connection's end
// (the error its read returned) is sent on ended.
func echoServer(t *testing.T) (addr string, conns chan net.Conn, ended chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns, ended = make(chan net.Conn, 8), make(chan error, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
			go func() {
				buf := make([]byte, 1024)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						_, _ = c.Write(buf[:n])
					}
					if err != nil {
						ended <- err
						c.Close()
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), conns, ended
}

func dialEcho(t *testing.T, p *Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hi" {
		t.Fatalf("echo through the proxy: %q, %v", buf, err)
	}
	return c
}

func TestModes(t *testing.T) {
	for _, mode := range []Mode{Reset, Close, HalfOpen} {
		t.Run(mode.String(), func(t *testing.T) {
			addr, conns, ended := echoServer(t)
			p, err := New(addr)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			c := dialEcho(t, p)
			srv := <-conns
			if k := p.Kill(5, mode); k != 1 {
				t.Fatalf("killed %d, want 1", k)
			}
			// The client side ends in every mode.
			if _, err := c.Read(make([]byte, 1)); err == nil {
				t.Fatal("client read after the kill succeeded")
			} else if mode == Close && !errors.Is(err, io.EOF) {
				t.Fatalf("client read after a clean close: %v, want EOF", err)
			}
			if mode != HalfOpen {
				select {
				case <-ended:
				case <-time.After(5 * time.Second):
					t.Fatal("server side not closed")
				}
				return
			}
			// Half-open: the server side stays open, its writes succeed
			// and nothing comes back.
			for range 3 {
				if _, err := srv.Write([]byte("ping")); err != nil {
					t.Fatalf("server write to the silent side: %v", err)
				}
			}
			select {
			case err := <-ended:
				t.Fatalf("server side ended: %v", err)
			case <-time.After(200 * time.Millisecond):
			}
			if st := p.Stats(); st.HalfOpenHeld != 1 || st.Live != 0 {
				t.Fatalf("stats %+v: want 1 held, 0 live", st)
			}
			srv.Close()
			deadline := time.Now().Add(5 * time.Second)
			for p.Stats().HalfOpenHeld != 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if st := p.Stats(); st.HalfOpenHeld != 0 || len(st.ServerClosed) != 1 {
				t.Fatalf("stats %+v after the server closed: want 0 held, 1 closed", st)
			}
		})
	}
}
