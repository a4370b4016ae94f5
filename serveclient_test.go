package socketio

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// clientFS is a stand-in for socket.io-client's dist directory. The body is
// long and repetitive, so that gzip pays.
func clientFS() fstest.MapFS {
	js := strings.Repeat("console.log('socket.io client');\n", 100)
	return fstest.MapFS{
		"socket.io.js":         {Data: []byte(js), ModTime: time.Unix(1, 0)},
		"socket.io.min.js":     {Data: []byte("var io=1;"), ModTime: time.Unix(1, 0)},
		"socket.io.min.js.map": {Data: []byte(`{"version":3}`), ModTime: time.Unix(1, 0)},
		"secret.txt":           {Data: []byte("not a client file")},
	}
}

// get sends a request to h and returns the recorded response.
func get(h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestClientHandler(t *testing.T) {
	fsys := clientFS()
	h := ClientHandler(fsys)

	w := get(h, "GET", "/socket.io/socket.io.min.js", nil)
	if w.Code != 200 {
		t.Fatalf("status %d, want 200", w.Code)
	}
	if got := w.Body.String(); got != "var io=1;" {
		t.Errorf("body %q", got)
	}
	if got := w.Header().Get("Content-Type"); got != "application/javascript; charset=utf-8" {
		t.Errorf("Content-Type %q", got)
	}
	if got := w.Header().Get("Cache-Control"); got != "public, max-age=0" {
		t.Errorf("Cache-Control %q", got)
	}
	etag := w.Header().Get("ETag")
	if len(etag) < 10 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		t.Fatalf("ETag %q is not a strong, quoted tag", etag)
	}

	// Revalidation: the same tag, strong or weak, among others or alone.
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		w := get(h, "GET", "/socket.io/socket.io.min.js", http.Header{"If-None-Match": {inm}})
		if w.Code != http.StatusNotModified || w.Body.Len() != 0 {
			t.Errorf("If-None-Match %s: status %d, %d body bytes; want 304 and none", inm, w.Code, w.Body.Len())
		}
	}
	if w := get(h, "GET", "/socket.io/socket.io.min.js", http.Header{"If-None-Match": {`"stale"`}}); w.Code != 200 {
		t.Errorf("stale If-None-Match: status %d, want 200", w.Code)
	}

	// A change of the file changes the tag.
	fsys["socket.io.min.js"] = &fstest.MapFile{Data: []byte("var io=2;"), ModTime: time.Unix(2, 0)}
	w = get(h, "GET", "/socket.io/socket.io.min.js", http.Header{"If-None-Match": {etag}})
	if w.Code != 200 || w.Body.String() != "var io=2;" || w.Header().Get("ETag") == etag {
		t.Errorf("after a change: status %d, body %q, ETag %q (was %q)", w.Code, w.Body.String(), w.Header().Get("ETag"), etag)
	}

	// Source maps are JSON.
	w = get(h, "GET", "/socket.io/socket.io.min.js.map", nil)
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("map: status %d, Content-Type %q", w.Code, w.Header().Get("Content-Type"))
	}

	// HEAD: the headers, no body.
	w = get(h, "HEAD", "/socket.io/socket.io.min.js", nil)
	if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") != "9" {
		t.Errorf("HEAD: status %d, %d body bytes, Content-Length %q", w.Code, w.Body.Len(), w.Header().Get("Content-Length"))
	}
	if w := get(h, "POST", "/socket.io/socket.io.min.js", nil); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", w.Code)
	}

	// Not a client file, or a client file fsys lacks: 404, whatever fsys
	// holds.
	for _, p := range []string{"/socket.io/secret.txt", "/socket.io/socket.io.esm.min.js", "/socket.io/", "/socket.io/../secret.txt"} {
		if w := get(h, "GET", p, nil); w.Code != 404 {
			t.Errorf("GET %s: status %d, want 404", p, w.Code)
		}
	}
}

func TestClientHandlerGzip(t *testing.T) {
	h := ClientHandler(clientFS())
	want := strings.Repeat("console.log('socket.io client');\n", 100)

	w := get(h, "GET", "/socket.io.js", http.Header{"Accept-Encoding": {"br, gzip;q=0.8"}})
	if w.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", w.Header().Get("Content-Encoding"))
	}
	if !strings.Contains(w.Header().Get("Vary"), "Accept-Encoding") {
		t.Errorf("Vary %q lacks Accept-Encoding", w.Header().Get("Vary"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil || string(body) != want {
		t.Fatalf("gunzipped body: %v, %d bytes, want %d", err, len(body), len(want))
	}

	for _, ae := range []string{"", "identity", "gzip;q=0"} {
		w := get(h, "GET", "/socket.io.js", http.Header{"Accept-Encoding": {ae}})
		if w.Header().Get("Content-Encoding") != "" || w.Body.String() != want {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, %d bytes", ae, w.Header().Get("Content-Encoding"), w.Body.Len())
		}
	}
}

// TestServeClientOption checks the files under the Server's own path, next
// to the Engine.IO endpoint, with the CORS policy applied to them.
func TestServeClientOption(t *testing.T) {
	env := newTestEnv(t, &Options{
		ServeClient: clientFS(),
		CORS:        &CORSOptions{Origins: []string{"https://app.example"}},
	})
	req, _ := http.NewRequest("GET", env.hs.URL+"/socket.io/socket.io.min.js", nil)
	req.Header.Set("Origin", "https://app.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "var io=1;" {
		t.Fatalf("status %d, body %q", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example" {
		t.Errorf("Access-Control-Allow-Origin %q", got)
	}

	// The handshake still reaches Engine.IO.
	resp, err = http.Get(env.hs.URL + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), `0{"sid":`) {
		t.Fatalf("handshake: status %d, body %q", resp.StatusCode, body)
	}

	// Only right under the path: elsewhere, the request goes to Engine.IO
	// (which refuses it).
	for _, p := range []string{"/socket.io/js/socket.io.min.js", "/socket.io.min.js"} {
		resp, err := http.Get(env.hs.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("GET %s: 200", p)
		}
	}
	// Below a prefix, with Path set to the whole path or not.
	for _, path := range []string{"/api/socket.io/", ""} {
		srv := NewServer(&Options{ServeClient: clientFS(), Path: path})
		mux := http.NewServeMux()
		mux.Handle("/api/socket.io/", srv)
		if w := get(mux, "GET", "/api/socket.io/socket.io.min.js", nil); w.Code != 200 || w.Body.String() != "var io=1;" {
			t.Errorf("Path %q, mounted at /api/socket.io/: status %d, body %q", path, w.Code, w.Body.String())
		}
		srv.Close()
	}

	// Without the option, no file is served.
	off := newTestEnv(t, nil)
	resp, err = http.Get(off.hs.URL + "/socket.io/socket.io.min.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Errorf("ServeClient unset: status 200")
	}
}
