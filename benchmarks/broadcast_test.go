package benchmarks

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/benchmarks/internal/sioclient"
	"github.com/socketio-go/socketio/parser/msgpackparser"
)

// pipeListener is a net.Listener whose connections are in-memory pipes.
type pipeListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

func (l *pipeListener) dial() (net.Conn, error) {
	s, c := net.Pipe()
	select {
	case l.ch <- s:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

var bcastPrefix = []byte(`42["bcast",`)

// bcastMsgpack starts the data of the broadcast with the msgpack parser:
// "data": ["bcast", ...] (the map's type entry comes first).
var bcastMsgpack = []byte{0xa4, 'd', 'a', 't', 'a', 0x94, 0xa5, 'b', 'c', 'a', 's', 't'}

// rig is a server with n connected raw clients counting the broadcasts
// they receive.
type rig struct {
	srv     *socketio.Server
	hs      *http.Server
	clients []*sioclient.Conn
	poller  *sioclient.Poller
	recv    atomic.Int64
	target  atomic.Int64
	reached chan struct{}
	wg      sync.WaitGroup
}

func (r *rig) onMessage(m []byte) {
	if bytes.HasPrefix(m, bcastPrefix) || len(m) > 7 && bytes.HasPrefix(m[7:], bcastMsgpack) {
		if r.recv.Add(1) == r.target.Load() {
			r.reached <- struct{}{}
		}
	}
}

// newRigOpts starts a server with opts (nil: the defaults) and n raw
// clients connected to it over transport ("tcp" or "pipe"), counting the
// broadcasts they receive.
func newRigOpts(b *testing.B, transport string, n int, opts *socketio.Options) *rig {
	r := &rig{srv: socketio.NewServer(opts), reached: make(chan struct{}, 1)}
	useMsgpack := false
	if opts != nil {
		_, useMsgpack = opts.Parser.(msgpackparser.Parser)
	}
	r.hs = &http.Server{Handler: r.srv}
	var dial func() (net.Conn, error)
	addr := "127.0.0.1"
	switch transport {
	case "tcp":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		addr = ln.Addr().String()
		go r.hs.Serve(ln)
		dial = func() (net.Conn, error) { return net.Dial("tcp", addr) }
		p, err := sioclient.NewPoller()
		if err != nil {
			b.Fatal(err)
		}
		p.SetHandler(func(_ *sioclient.Conn, m []byte) { r.onMessage(m) })
		r.poller = p
	case "pipe":
		ln := newPipeListener()
		go r.hs.Serve(ln)
		dial = ln.dial
	}
	for i := 0; i < n; i++ {
		nc, err := dial()
		if err != nil {
			b.Fatal(err)
		}
		c, err := sioclient.Handshake(nc, sioclient.DialOptions{Addr: addr, ReadBuf: 4096})
		if err == nil && useMsgpack {
			err = c.ConnectMsgpack()
		} else if err == nil {
			err = c.Connect()
		}
		if err != nil {
			b.Fatalf("client %d: %v", i, err)
		}
		r.clients = append(r.clients, c)
		if r.poller != nil {
			if err := r.poller.Add(c); err != nil {
				b.Fatal(err)
			}
			continue
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			for {
				_, m, err := c.NextMessage()
				if err != nil {
					return
				}
				r.onMessage(m)
			}
		}()
	}
	// Let the last sockets join their rooms.
	time.Sleep(100 * time.Millisecond)
	return r
}

func (r *rig) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.srv.Close()
	_ = r.hs.Shutdown(ctx)
	if r.poller != nil {
		r.poller.Close()
	}
	for _, c := range r.clients {
		c.Close()
	}
	r.wg.Wait()
}

func fdLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 1024
	}
	return rl.Cur
}

// BenchmarkBroadcast broadcasts one event (io.emit("bcast", ...) as in
// cmd/benchserver) to n sockets through the whole server stack, and waits
// until every client has read it. The clients (raw protocol, allocation
// free) run in the same process, over loopback TCP or in-memory pipes.
// It reports the allocations and time per delivered message; ns/delivery
// includes the clients' reads. "pipe-msgpack" is "pipe" with the msgpack
// parser (msgpackparser) on the server and the clients.
func BenchmarkBroadcast(b *testing.B) {
	for _, transport := range []string{"tcp", "pipe", "pipe-msgpack"} {
		for _, n := range []int{1000, 10000} {
			b.Run(fmt.Sprintf("%s/sockets=%d", transport, n), func(b *testing.B) {
				if transport == "tcp" && uint64(2*n+200) > fdLimit() {
					b.Skipf("%d loopback connections need %d file descriptors; RLIMIT_NOFILE is %d", n, 2*n+200, fdLimit())
				}
				network, opts := transport, (*socketio.Options)(nil)
				if transport == "pipe-msgpack" {
					network, opts = "pipe", &socketio.Options{Parser: msgpackparser.Parser{}}
				}
				r := newRigOpts(b, network, n, opts)
				defer r.close()
				args := []any{1, 123456789, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}
				emit := func() {
					r.target.Add(int64(n))
					if err := r.srv.Emit("bcast", args...); err != nil {
						b.Fatal(err)
					}
					select {
					case <-r.reached:
					case <-time.After(30 * time.Second):
						b.Fatalf("broadcast not delivered: %d of %d", r.recv.Load(), r.target.Load())
					}
				}
				emit() // warm up the pools
				runtime.GC()
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				b.ReportAllocs()
				b.ResetTimer()
				ops := 0
				for b.Loop() {
					emit()
					ops++
				}
				b.StopTimer()
				runtime.ReadMemStats(&m1)
				deliveries := float64(ops * n)
				b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/deliveries, "allocs/delivery")
				b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/deliveries, "B/delivery")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/deliveries, "ns/delivery")
			})
		}
	}
}
