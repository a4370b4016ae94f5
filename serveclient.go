package socketio

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/socketio-go/socketio/engineio"
)

// clientFiles are the files of the official browser client that a Socket.IO
// server serves under its path, as the Node server's serveClient option
// does: the bundles of socket.io-client's dist directory and their source
// maps.
var clientFiles = []string{
	"socket.io.esm.min.js",
	"socket.io.esm.min.js.map",
	"socket.io.js",
	"socket.io.js.map",
	"socket.io.min.js",
	"socket.io.min.js.map",
	"socket.io.msgpack.min.js",
	"socket.io.msgpack.min.js.map",
}

// ClientHandler returns a handler that serves the official browser client
// (socket.io.js, socket.io.min.js, socket.io.esm.min.js,
// socket.io.msgpack.min.js and their .map files) from fsys, typically the
// dist directory of an npm-installed socket.io-client:
//
//	os.DirFS("node_modules/socket.io-client/dist")
//
// The module does not ship the bundle: the page gets the very version npm
// installed, so that client and page stay in step with package-lock.json.
//
// The file is the last element of the request path, so the handler works
// wherever it is mounted (http.StripPrefix included); any other name, a
// file missing from fsys, or a method other than GET and HEAD is answered
// 404 (405 for the method). Answers carry the headers of the official
// server: Content-Type application/javascript (application/json for the
// maps) with charset=utf-8, Cache-Control "public, max-age=0" (the browser
// revalidates every time) and a strong ETag, here a hash of the content;
// an If-None-Match that names it (weak or strong) is answered 304. Bodies
// are gzipped for clients that accept it.
//
// Options.ServeClient does the same from inside the Server, under its path.
func ClientHandler(fsys fs.FS) http.Handler {
	return &clientServer{fsys: fsys}
}

// clientServer serves the client files of fsys, keeping each one read,
// hashed and compressed in memory until its size or modification time
// changes.
type clientServer struct {
	fsys fs.FS
	cors *CORSOptions // nil: no CORS headers
	path string       // for try: the Server's Options.Path

	mu    sync.Mutex
	files map[string]*clientFile
}

// clientFile is one file as last read.
type clientFile struct {
	size    int64
	modTime time.Time
	etag    string
	body    []byte
	gzipped []byte // nil when compression does not pay
}

// isClientFile reports whether name is one of clientFiles.
func isClientFile(name string) bool { return slices.Contains(clientFiles, name) }

// clientFileName returns the file a request names: the last element of its
// path, if it is a client file.
func clientFileName(r *http.Request) (string, bool) {
	p := r.URL.Path
	name := p[strings.LastIndexByte(p, '/')+1:]
	return name, isClientFile(name)
}

// try serves r if it asks for a client file right under the server's path
// (and is not an Engine.IO request), and reports whether it did. The
// request path must end with Path and the file name, so that the files are
// found where the Server is mounted, also below a prefix or behind a proxy
// that strips one, and nowhere else.
func (c *clientServer) try(w http.ResponseWriter, r *http.Request) bool {
	name, ok := clientFileName(r)
	if !ok || !strings.HasSuffix(r.URL.Path, c.path+name) || r.URL.Query().Has("EIO") {
		return false
	}
	c.serve(w, r, name)
	return true
}

func (c *clientServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := clientFileName(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	c.serve(w, r, name)
}

// serve answers a request for the client file name.
func (c *clientServer) serve(w http.ResponseWriter, r *http.Request, name string) {
	h := w.Header()
	if c.cors != nil {
		setClientCORS(h, r, c.cors)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	f, err := c.load(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			http.NotFound(w, r)
			return
		}
		http.Error(w, "cannot read "+name, http.StatusInternalServerError)
		return
	}
	h.Set("Cache-Control", "public, max-age=0")
	h.Set("ETag", f.etag)
	h.Add("Vary", "Accept-Encoding")
	if etagMatches(r.Header.Get("If-None-Match"), f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if strings.HasSuffix(name, ".map") {
		h.Set("Content-Type", "application/json; charset=utf-8")
	} else {
		h.Set("Content-Type", "application/javascript; charset=utf-8")
	}
	body := f.body
	if f.gzipped != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = f.gzipped
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// load returns the file name, read again when it changed on disk.
func (c *clientServer) load(name string) (*clientFile, error) {
	fi, err := fs.Stat(c.fsys, name)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, fs.ErrNotExist
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.files[name]; f != nil && f.size == fi.Size() && f.modTime.Equal(fi.ModTime()) {
		return f, nil
	}
	body, err := fs.ReadFile(c.fsys, name)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	f := &clientFile{
		size:    fi.Size(),
		modTime: fi.ModTime(),
		etag:    `"` + hex.EncodeToString(sum[:12]) + `"`,
		body:    body,
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(body)
	if zw.Close() == nil && buf.Len() < len(body) {
		f.gzipped = buf.Bytes()
	}
	if c.files == nil {
		c.files = make(map[string]*clientFile)
	}
	c.files[name] = f
	return f, nil
}

// etagMatches reports whether an If-None-Match header names etag, weakly or
// strongly, or is "*".
func etagMatches(header, etag string) bool {
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

// setClientCORS sets the CORS headers of a client file for an allowed
// origin, so that a page of another origin may load the ESM bundle (module
// scripts are fetched in CORS mode).
func setClientCORS(h http.Header, r *http.Request, o *engineio.CORSOptions) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	h.Add("Vary", "Origin")
	switch {
	case slices.Contains(o.Origins, "*"):
		h.Set("Access-Control-Allow-Origin", "*")
		return
	case slices.Contains(o.Origins, origin), o.AllowOrigin != nil && o.AllowOrigin(origin):
		h.Set("Access-Control-Allow-Origin", origin)
		if o.Credentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
	}
}
