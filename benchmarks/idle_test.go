package benchmarks

import (
	"cmp"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/benchmarks/internal/sioclient"
)

// site is one allocation site of the heap profile, by its innermost
// frame of our code or of the standard library.
type site struct {
	name         string
	bytes, count int64
}

// serverHeap sums the in-use heap profile records whose stacks do not pass
// through the benchmark's own code (its clients, the measurement),
// grouped by allocation site.
func serverHeap() (total, objects int64, sites []site) {
	var recs []runtime.MemProfileRecord
	n, _ := runtime.MemProfile(nil, true)
	for {
		recs = make([]runtime.MemProfileRecord, n+50)
		var ok bool
		n, ok = runtime.MemProfile(recs, true)
		if ok {
			recs = recs[:n]
			break
		}
	}
	bySite := map[string]*site{}
	for _, r := range recs {
		if r.InUseBytes() == 0 {
			continue
		}
		frames := runtime.CallersFrames(r.Stack())
		var name string
		client := false
		for {
			f, more := frames.Next()
			fn := f.Function
			if strings.Contains(fn, "/benchmarks/internal/sioclient.") || strings.HasSuffix(fn, "benchmarks.dialIdle") ||
				strings.HasSuffix(fn, "benchmarks.serverHeap") || strings.HasSuffix(fn, "benchmarks.BenchmarkIdleConnection") {
				client = true
				break
			}
			if name == "" && !strings.HasPrefix(fn, "runtime.") && !strings.HasPrefix(fn, "internal/") {
				name = fmt.Sprintf("%s:%d", fn, f.Line)
			}
			if !more {
				break
			}
		}
		if client {
			continue
		}
		s := bySite[name]
		if s == nil {
			s = &site{name: name}
			bySite[name] = s
		}
		s.bytes += r.InUseBytes()
		s.count += r.InUseObjects()
		total += r.InUseBytes()
		objects += r.InUseObjects()
	}
	for _, s := range bySite {
		sites = append(sites, *s)
	}
	slices.SortFunc(sites, func(a, b site) int { return cmp.Compare(b.bytes, a.bytes) })
	return total, objects, sites
}

// dialIdle connects one raw WebSocket client to the Socket.IO namespace.
func dialIdle(addr string) (*sioclient.Conn, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c, err := sioclient.Handshake(nc, sioclient.DialOptions{Addr: addr, ReadBuf: 512})
	if err == nil {
		err = c.Connect()
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// BenchmarkIdleConnection measures the live heap one idle WebSocket
// connection holds in the server (the cmd/benchserver handlers, a client
// with the benchmark generator's handshake headers), after a garbage
// collection, from an exact heap profile (runtime.MemProfileRate = 1) with
// the in-process clients' allocations left out. With -v it lists the
// allocation sites. The figure is independent of b.N.
func BenchmarkIdleConnection(b *testing.B) {
	const n = 1000
	if uint64(2*n+200) > fdLimit() {
		b.Skipf("%d loopback connections need %d file descriptors; RLIMIT_NOFILE is %d", n, 2*n+200, fdLimit())
	}
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	defer func() { runtime.MemProfileRate = old }()

	srv := socketio.NewServer(nil)
	var connected atomic.Int64
	all := make(chan struct{})
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("bcast", func(e *socketio.Event) { _ = srv.Emit("bcast", e.Args().Spread()...) })
		s.On("echo", func(e *socketio.Event) { _ = e.Ack(e.Args().Spread()...) })
		if connected.Add(1) == n {
			close(all)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	// IDLE_SERVE=own: the server on its own listener (Serve and its
	// HTTP/1.1 fast path, as cmd/benchserver runs) instead of mounted on an
	// http.Server.
	if os.Getenv("IDLE_SERVE") == "own" {
		go func() { _ = srv.Serve(ln) }()
		defer func() { _ = srv.Close() }()
	} else {
		hs := &http.Server{Handler: srv}
		go func() { _ = hs.Serve(ln) }()
		defer func() {
			_ = srv.Close()
			_ = hs.Close()
		}()
	}

	// Two warm-up connections, so that one-off allocations (pools, the
	// poller) are not counted per connection.
	measure := func(clients int) (int64, int64, []site) {
		runtime.GC()
		runtime.GC()
		return serverHeap()
	}
	var conns []*sioclient.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 2 {
		c, err := dialIdle(ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
	}
	connected.Add(-2) // the warm-up connections are not part of n
	base, baseObj, baseSites := measure(2)
	for range n {
		c, err := dialIdle(ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
	}
	select {
	case <-all:
	case <-time.After(30 * time.Second):
		b.Fatalf("%d of %d sockets connected", connected.Load(), n)
	}
	total, obj, sites := measure(n)
	for b.Loop() {
	}
	perConn := float64(total-base) / n
	b.ReportMetric(perConn, "B/conn")
	b.ReportMetric(float64(obj-baseObj)/n, "objects/conn")
	if testing.Verbose() {
		before := map[string]site{}
		for _, s := range baseSites {
			before[s.name] = s
		}
		for _, s := range sites {
			d := s.bytes - before[s.name].bytes
			if d < n/2 {
				continue
			}
			b.Logf("%8.1f B %5.2f obj  %s", float64(d)/n, float64(s.count-before[s.name].count)/n, s.name)
		}
	}
}
