package engineio

import (
	"crypto/tls"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestHandshakeRequestRoundTrip(t *testing.T) {
	long := strings.Repeat("v", 70000) // a length of three varint bytes
	r := &http.Request{
		Method: "GET", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Host: "example.com:8080", RequestURI: "/socket.io/%00x?EIO=4&transport=polling",
		RemoteAddr: "[::1]:5555",
		URL:        &url.URL{Path: "/socket.io/\x00x", RawPath: "/socket.io/%00x", RawQuery: "EIO=4&transport=polling"},
		Header: http.Header{
			"Cookie":     {"a=1", "b=2"},
			"X-Empty":    {""},
			"X-Long":     {long},
			"User-Agent": {"héllo\tworld"},
		},
		TLS: &tls.ConnectionState{ServerName: "example.com"},
	}
	h := keepRequest(r)
	got := h.request()
	if got.Method != r.Method || got.Proto != r.Proto || got.ProtoMajor != 1 || got.ProtoMinor != 1 ||
		got.Host != r.Host || got.RequestURI != r.RequestURI || got.RemoteAddr != r.RemoteAddr || got.TLS != r.TLS {
		t.Fatalf("request %+v", got)
	}
	if *got.URL != *r.URL {
		t.Fatalf("URL %#v, want %#v", got.URL, r.URL)
	}
	if !reflect.DeepEqual(got.Header, r.Header) {
		t.Fatalf("header %q, want %q", got.Header, r.Header)
	}
	if got.Body != http.NoBody || got.Context().Err() != nil {
		t.Fatalf("body %v, context %v", got.Body, got.Context().Err())
	}
	// Every call returns a header of its own.
	got.Header.Set("Cookie", "changed")
	if again := h.request(); again.Header.Get("Cookie") != "a=1" {
		t.Fatalf("header shared between calls: %q", again.Header)
	}

	e := keepRequest(&http.Request{URL: &url.URL{}})
	empty := e.request()
	if empty.Method != "" || len(empty.Header) != 0 || empty.Header == nil {
		t.Fatalf("empty request %+v", empty)
	}
}

func FuzzQueryValue(f *testing.F) {
	for _, q := range []string{
		"EIO=4&transport=polling&sid=abc", "transport=websocket&EIO=4", "EIO=3&EIO=4",
		"sid=a%2Bb&transport=polling", "sid=a+b", "s%69d=x", "sid=%zz&sid=ok", "sid=1;x&sid=2",
		"=&&sid=&sid=y", "sid", "EIO=4&t=1&sid=%41%42", "%zz=1&sid=2", "",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		want, _ := url.ParseQuery(raw)
		for _, key := range []string{"EIO", "transport", "sid"} {
			if got := queryValue(raw, key); got != want.Get(key) {
				t.Fatalf("queryValue(%q, %q) = %q, url.ParseQuery says %q", raw, key, got, want.Get(key))
			}
		}
	})
}
