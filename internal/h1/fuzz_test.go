package h1

import (
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
)

// netHTTPRead serves b on a net/http.Server and returns the request its
// handler got, or nil if the server refused it.
func netHTTPRead(b []byte) *http.Request {
	client, server := net.Pipe()
	got := make(chan *http.Request, 1)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got <- r
		}),
		ErrorLog: log.New(io.Discard, "", 0),
	}
	ln := &oneConnListener{c: server, done: make(chan struct{})}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		_, _ = client.Write(b)
	}()
	// The server answers (an error or the handler's response): read it
	// until it closes or the handler ran.
	go func() { _, _ = io.Copy(io.Discard, client) }()
	var r *http.Request
	select {
	case r = <-got:
	case <-ln.closed():
		// The server closes after the handler returns when the request
		// asked it to (Connection: close), so both may be ready: the
		// handler's request, if it ran, is already in got.
		select {
		case r = <-got:
		default:
		}
	}
	_ = client.Close()
	_ = srv.Close()
	return r
}

type oneConnListener struct {
	c    net.Conn
	done chan struct{}
	sent bool
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	if !l.sent {
		l.sent = true
		return &watchConn{Conn: l.c, l: l}, nil
	}
	<-l.done
	return nil, net.ErrClosed
}

func (l *oneConnListener) closed() <-chan struct{} { return l.done }
func (l *oneConnListener) Close() error            { return nil }
func (l *oneConnListener) Addr() net.Addr          { return &net.TCPAddr{} }

// watchConn tells its listener when the server closes the connection.
type watchConn struct {
	net.Conn
	l    *oneConnListener
	once sync.Once
}

func (c *watchConn) Close() error {
	c.once.Do(func() { close(c.l.done) })
	return c.Conn.Close()
}

// FuzzParseHead checks the fast path's request parser against net/http's:
// every head the fast path accepts, net/http reads as the same request
// (method, target, host, headers, body length). Heads the fast path
// refuses go to net/http anyway, so refusing more is safe; accepting what
// net/http refuses or reads differently is not.
func FuzzParseHead(f *testing.F) {
	for _, s := range []string{
		"GET /fast/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n",
		"POST /fast/?EIO=4 HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nContent-Length: 5\r\nContent-Type: text/plain;charset=UTF-8\r\nConnection: keep-alive\r\n\r\n",
		"GET /fast/ HTTP/1.1\r\nhost: x\r\nCOOKIE: a=b\r\nX-Empty:\r\nX-Sp:   v  \r\n\r\n",
		"GET /fast/ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\n\r\n",
		"GET /fast/ HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
		"POST /fast/ HTTP/1.1\r\nHost: x\r\nContent-Length: 05\r\n\r\n",
		"GET /fast/%zz HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /fast/?a=%zz HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /fast/ HTTP/1.1\r\nHost: x y\r\n\r\n",
		"GET /fast/ HTTP/1.1\r\nHost: \r\n\r\n",
		// Repeated headers, before and past the first eight keys.
		"GET /fast/ HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nA: 3\r\nb: 4\r\n\r\n",
		"GET /fast/ HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\nI: 9\r\nA: 10\r\nI: 11\r\nJ: 12\r\n\r\n",
		// Pragma: no-cache implies Cache-Control unless one is sent.
		"GET /fast/ HTTP/1.1\r\nHost: x\r\nPragma: no-cache\r\n\r\n",
		"GET /fast/ HTTP/1.1\r\nHost: x\r\nPragma: no-cache\r\nCache-Control: max-age=1\r\n\r\n",
		"GET /fast/ HTTP/1.1\r\nHost: x\r\nPragma: x\r\nPragma: no-cache\r\n\r\n",
		"GET /fast/ HTTP/1.1\r\nHost: \r\nHost: x\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := parseHead(b, "/fast/", nil, nil)
		// Parsed into the memory of an earlier request (a released request
		// state, not cleared here), the head reads the same.
		old, _ := parseHead([]byte("GET /fast/?x HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nB: 3\r\nC: 4\r\n\r\n"), "/fast/", nil, nil)
		again, okAgain := parseHead(b, "/fast/", old.header, old.vals)
		if okAgain != ok {
			t.Fatalf("%q: accepted %v, into reused memory %v", b, ok, okAgain)
		}
		if !ok {
			return
		}
		if !maps.EqualFunc(h.header, again.header, slices.Equal) {
			t.Fatalf("%q: headers differ in reused memory:\nfresh  %v\nreused %v", b, h.header, again.header)
		}
		r := netHTTPRead(b)
		if r == nil {
			t.Fatalf("accepted %q, net/http's server refuses it", b)
		}
		if r.Method != h.method || r.RequestURI != h.target || r.Host != h.host ||
			r.URL.Path != h.path || r.URL.RawQuery != h.rawQuery || r.ContentLength != h.contentLength ||
			r.Close != h.closeConn || r.ProtoMajor != 1 || r.ProtoMinor != 1 {
			t.Fatalf("%q: net/http reads %s %q host %q path %q query %q length %d close %v; we read %s %q host %q path %q query %q length %d close %v",
				b, r.Method, r.RequestURI, r.Host, r.URL.Path, r.URL.RawQuery, r.ContentLength, r.Close,
				h.method, h.target, h.host, h.path, h.rawQuery, h.contentLength, h.closeConn)
		}
		if len(r.TransferEncoding) != 0 {
			t.Fatalf("%q: net/http sees a transfer encoding %v", b, r.TransferEncoding)
		}
		if !maps.EqualFunc(r.Header, h.header, slices.Equal) {
			t.Fatalf("%q: headers differ:\nnet/http %v\nours     %v", b, r.Header, h.header)
		}
	})
}
