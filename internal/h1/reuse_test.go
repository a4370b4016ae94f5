package h1

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
)

// A request whose handler calls ReuseRequest lends its memory to later
// requests: they see only their own header, URL and context, and a
// request whose handler did not call it is never reused (its handler may
// keep it).
func TestReuseRequest(t *testing.T) {
	type seen struct {
		r      *http.Request
		header http.Header
		query  string
		ctxErr error
	}
	var (
		mu   sync.Mutex
		got  []seen
		kept []*http.Request // requests whose handlers did not release them
	)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, seen{r: r, header: r.Header.Clone(), query: r.URL.RawQuery, ctxErr: r.Context().Err()})
		mu.Unlock()
		if strings.HasPrefix(r.URL.RawQuery, "reuse") {
			w.(*response).ReuseRequest()
		} else {
			mu.Lock()
			kept = append(kept, r)
			mu.Unlock()
		}
		_, _ = io.WriteString(w, r.URL.RawQuery)
	}), nil)
	rc := dial(t, ts.addr)
	const n = 20
	for i := range n {
		// Each request has headers of its own, some shared with the
		// previous one, some not.
		q := fmt.Sprintf("reuse%d", i)
		if i%4 == 3 {
			q = fmt.Sprintf("keep%d", i)
		}
		req := fmt.Sprintf("GET /fast/?%s HTTP/1.1\r\nHost: x\r\nX-Req: %d\r\nX-Only-%d: v\r\n", q, i, i)
		if i%2 == 0 {
			req += fmt.Sprintf("X-Even: %d\r\nX-Even: again\r\n", i)
		}
		rc.send(req + "\r\n")
		if _, body := rc.read("GET"); body != q {
			t.Fatalf("request %d answered %q, want %q", i, body, q)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	ptrs := map[*http.Request]bool{}
	for i, s := range got {
		want := http.Header{"X-Req": {fmt.Sprint(i)}, fmt.Sprintf("X-Only-%d", i): {"v"}}
		if i%2 == 0 {
			want["X-Even"] = []string{fmt.Sprint(i), "again"}
		}
		if !maps.EqualFunc(s.header, want, slices.Equal) {
			t.Errorf("request %d saw header %v, want %v", i, s.header, want)
		}
		if s.ctxErr != nil {
			t.Errorf("request %d: context already ended in the handler: %v", i, s.ctxErr)
		}
		ptrs[s.r] = true
	}
	if len(got) != n {
		t.Fatalf("handler saw %d requests, want %d", len(got), n)
	}
	// Kept requests are never handed to a later request.
	for _, r := range kept {
		var q string
		fmt.Sscanf(r.URL.RawQuery, "keep%s", &q)
		if !strings.HasPrefix(r.URL.RawQuery, "keep") || r.Header.Get("X-Req") != q {
			t.Errorf("a kept request changed: query %q, X-Req %q", r.URL.RawQuery, r.Header.Get("X-Req"))
		}
	}
	// Released requests are reused (sync.Pool may drop some, never all).
	if len(ptrs) == n {
		t.Errorf("%d requests in %d distinct *http.Request: none reused", n, len(ptrs))
	}
}

// A detached response's request stays whole until its finish, when the
// handler released it before returning.
func TestReuseRequestDetached(t *testing.T) {
	type parkedReq struct {
		w      http.ResponseWriter
		r      *http.Request
		finish func(bool)
	}
	ch := make(chan parkedReq, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(*response).ReuseRequest()
		if r.URL.RawQuery == "park" {
			finish := w.(*response).Detach(func() {})
			if finish == nil {
				t.Error("Detach refused")
				return
			}
			ch <- parkedReq{w, r, finish}
			return
		}
		_, _ = io.WriteString(w, "at once "+r.Header.Get("X-Req"))
	}), nil)
	rc := dial(t, ts.addr)
	for i := range 5 {
		rc.send(fmt.Sprintf("GET /fast/?park HTTP/1.1\r\nHost: x\r\nX-Req: %d\r\n\r\n", i))
		p := <-ch
		go func() {
			// The owner reads the request while it answers.
			_, _ = io.WriteString(p.w, "late "+p.r.Header.Get("X-Req"))
			p.finish(false)
		}()
		if _, body := rc.read("GET"); body != fmt.Sprintf("late %d", i) {
			t.Fatalf("detached response %d: %q", i, body)
		}
		rc.send(fmt.Sprintf("GET /fast/?next HTTP/1.1\r\nHost: x\r\nX-Req: n%d\r\n\r\n", i))
		if _, body := rc.read("GET"); body != fmt.Sprintf("at once n%d", i) {
			t.Fatalf("next request %d: %q", i, body)
		}
	}
}
