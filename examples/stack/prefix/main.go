// Command prefix serves Socket.IO under a path other than /socket.io/, and
// behind a reverse proxy that strips a prefix of its own: the two ways an
// application ends up with its Socket.IO endpoint somewhere else.
//
//	go run ./stack/prefix [-addr 127.0.0.1:3000] [-proxy 127.0.0.1:3001]
//
// The app listens on -addr with Socket.IO at /api/socket.io/; clients
// connect with path "/api/socket.io/" (io({path: "/api/socket.io/"}) in
// JavaScript). The reverse proxy listens on -proxy and forwards /edge/...
// to the app without "/edge"; clients of the proxy use the path
// "/edge/api/socket.io/". The browser client's path option is the whole
// path as the browser sees it.
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/examples/stack/app"
)

// path is where the app mounts the Socket.IO server.
const path = "/api/socket.io/"

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "listen `address` of the app")
	proxyAddr := flag.String("proxy", "127.0.0.1:3001", "listen `address` of the reverse proxy")
	flag.Parse()
	backend, err := url.Parse("http://" + *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := app.New(&socketio.Options{Path: path})
	go func() {
		log.Printf("proxy listening http://%s/edge/", *proxyAddr)
		ps := &http.Server{Addr: *proxyAddr, Handler: newProxy(backend, "/edge"), ReadHeaderTimeout: 10 * time.Second}
		log.Fatal(ps.ListenAndServe())
	}()
	log.Printf("app listening http://%s%s", *addr, path)
	hs := &http.Server{Addr: *addr, Handler: newApp(srv), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(hs.ListenAndServe())
}

// newApp mounts srv at path. The Server itself does not look at the path:
// the mux routes to it, and Options.Path only matters to ListenAndServe.
func newApp(srv *socketio.Server) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(path, srv)
	return mux
}

// newProxy forwards the requests under prefix to backend, without prefix.
// httputil.ReverseProxy passes WebSocket upgrades through (it switches
// protocols when the backend answers 101) and streams long-poll responses
// as they come.
func newProxy(backend *url.URL, prefix string) http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(backend)
			r.Out.URL.Path = strings.TrimPrefix(r.In.URL.Path, prefix)
			r.Out.URL.RawPath = ""
			// X-Forwarded-For/-Host/-Proto: Handshake().Address stays
			// the proxy's unless the app trusts these.
			r.SetXForwarded()
		},
	}
	mux := http.NewServeMux()
	mux.Handle(prefix+"/", rp)
	return mux
}
