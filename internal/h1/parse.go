package h1

import (
	"net/http"
	"net/textproto"
	"strings"
)

// head is a request head the fast path serves: an HTTP/1.1 GET or POST
// for its path, with at most a Content-Length body. Every string points
// into one copy of the head.
type head struct {
	method        string
	target        string // the request-target as sent
	path          string
	rawQuery      string
	host          string
	header        http.Header
	vals          []string // the array of header's values
	contentLength int64
	closeConn     bool // Connection: close
}

// parseHead parses the request head at the start of b, whose length n
// includes the blank line that ends it. ok is false when the request is
// not one the fast path serves as net/http would: another method or
// protocol version, another path, a body that is not Content-Length
// delimited, an Expect, obsolete line folding, or anything net/http would
// refuse. Those go to net/http, which answers them itself.
//
// header and vals, when not nil, are a header map and a value array of a
// request no one uses any more (see requestState.release): the map is
// cleared, and both are filled rather than allocated. h.header and h.vals
// are what was filled, to be kept for the same purpose.
func parseHead(b []byte, path string, header http.Header, vals []string) (h head, ok bool) {
	s := string(b) // one allocation; every string below shares it
	line, rest, found := cutLine(s)
	if !found {
		return h, false
	}
	// Request line: method SP target SP HTTP/1.1
	sp1 := strings.IndexByte(line, ' ')
	if sp1 <= 0 {
		return h, false
	}
	h.method = line[:sp1]
	if h.method != http.MethodGet && h.method != http.MethodPost {
		return h, false
	}
	line = line[sp1+1:]
	sp2 := strings.IndexByte(line, ' ')
	if sp2 <= 0 || line[sp2+1:] != "HTTP/1.1" {
		return h, false
	}
	h.target = line[:sp2]
	h.path, h.rawQuery = h.target, ""
	if q := strings.IndexByte(h.target, '?'); q >= 0 {
		h.path, h.rawQuery = h.target[:q], h.target[q+1:]
	}
	if h.path != path || !validTarget(h.target) {
		return h, false
	}
	h.contentLength = -1
	if header != nil {
		clear(header)
		h.header = header
	} else {
		h.header = make(http.Header, 8)
	}
	// One array for every header's value slice: each key gets a
	// one-element slice of it, capped so that a repeated header's append
	// copies instead of overwriting the next one.
	if lines := countLines(rest); cap(vals) >= lines {
		vals = vals[:0]
	} else {
		vals = make([]string, 0, lines)
	}
	h.vals = vals // appends below stay within its capacity: one value per line at most
	// The first keys seen, to tell a repeated header without a map lookup;
	// past them, the map tells.
	var seen [8]string
	nseen := 0
	var sawHost, sawPragma, sawCacheControl bool
	pragma := ""
	for {
		line, rest, found = cutLine(rest)
		if !found {
			return h, false
		}
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return h, false // obsolete line folding
		}
		colon := strings.IndexByte(line, ':')
		if colon <= 0 {
			return h, false
		}
		name := line[:colon]
		for i := 0; i < len(name); i++ {
			if !isTokenByte(name[i]) {
				return h, false
			}
		}
		value := textproto.TrimString(line[colon+1:])
		for i := 0; i < len(value); i++ {
			if c := value[i]; (c < ' ' && c != '\t') || c == 0x7f {
				return h, false
			}
		}
		key := canonicalKey(name)
		switch key {
		case "Host":
			// Not in the header map: net/http moves it to Request.Host.
			if sawHost || !validHost(value) {
				return h, false
			}
			sawHost = true
			h.host = value
			continue
		case "Pragma":
			if !sawPragma {
				sawPragma, pragma = true, value
			}
		case "Cache-Control":
			sawCacheControl = true
		case "Content-Length":
			if h.contentLength >= 0 {
				return h, false
			}
			n, ok := parseContentLength(value)
			if !ok {
				return h, false
			}
			h.contentLength = n
		case "Transfer-Encoding", "Expect", "Trailer", "Te":
			return h, false
		case "Connection":
			if hasToken(value, "close") {
				h.closeConn = true
			}
		}
		repeated := false
		if nseen < len(seen) {
			for _, k := range seen[:nseen] {
				if k == key {
					repeated = true
					break
				}
			}
			if !repeated {
				seen[nseen] = key
				nseen++
			}
		} else {
			_, repeated = h.header[key]
		}
		if repeated {
			h.header[key] = append(h.header[key], value)
		} else {
			vals = append(vals, value)
			h.header[key] = vals[len(vals)-1 : len(vals) : len(vals)]
		}
	}
	if h.host == "" || rest != "" {
		return h, false
	}
	if h.contentLength < 0 {
		h.contentLength = 0
	}
	if h.method == http.MethodGet && h.contentLength != 0 {
		return h, false
	}
	// As net/http does (RFC 7234, section 5.4).
	if sawPragma && pragma == "no-cache" && !sawCacheControl {
		h.header["Cache-Control"] = []string{"no-cache"}
	}
	return h, true
}

// countLines counts the line feeds in s.
func countLines(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			n++
		}
	}
	return n
}

// cutLine splits s at the first CRLF; a bare LF is refused.
func cutLine(s string) (line, rest string, ok bool) {
	i := strings.IndexByte(s, '\n')
	if i < 1 || s[i-1] != '\r' {
		return "", "", false
	}
	line = s[:i-1]
	if strings.IndexByte(line, '\r') >= 0 {
		return "", "", false
	}
	return line, s[i+1:], true
}

// validTarget accepts the origin-form targets net/http accepts without
// rewriting: visible ASCII only.
func validTarget(t string) bool {
	if t == "" || t[0] != '/' {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] >= 0x7f || t[i] == '#' {
			return false
		}
	}
	return true
}

func parseContentLength(v string) (int64, bool) {
	if v == "" || len(v) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// hasToken reports whether the comma-separated list v holds token,
// case-insensitively.
func hasToken(v, token string) bool {
	for v != "" {
		var item string
		if i := strings.IndexByte(v, ','); i >= 0 {
			item, v = v[:i], v[i+1:]
		} else {
			item, v = v, ""
		}
		if equalFold(textproto.TrimString(item), token) {
			return true
		}
	}
	return false
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// canonicalKey is textproto.CanonicalMIMEHeaderKey without its
// allocation for the lower-case names HTTP clients commonly send.
func canonicalKey(name string) string {
	var k string
	switch len(name) {
	case 4:
		k = "Host"
	case 6:
		if lower(name[0]) == 'a' {
			k = "Accept"
		} else if lower(name[0]) == 'c' {
			k = "Cookie"
		} else {
			k = "Origin"
		}
	case 7:
		if lower(name[0]) == 'u' {
			k = "Upgrade"
		} else {
			k = "Referer"
		}
	case 10:
		if lower(name[0]) == 'c' {
			k = "Connection"
		} else {
			k = "User-Agent"
		}
	case 12:
		k = "Content-Type"
	case 13:
		k = "Cache-Control"
	case 14:
		k = "Content-Length"
	case 15:
		if lower(name[7]) == 'e' {
			k = "Accept-Encoding"
		} else {
			k = "Accept-Language"
		}
	case 17:
		k = "Sec-Websocket-Key"
	case 21:
		k = "Sec-Websocket-Version"
	case 24:
		k = "Sec-Websocket-Extensions"
	}
	if k != "" && equalFold(k, name) {
		return k
	}
	return textproto.CanonicalMIMEHeaderKey(name)
}

// tokenBytes marks the bytes that may appear in a header field name (RFC
// 9110 tchar).
var tokenBytes = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func isTokenByte(c byte) bool { return tokenBytes[c] }

// validHost accepts the Host values net/http accepts (a reg-name, an IP
// literal, a port), none empty.
func validHost(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!$%&'()*+,-.:;=[]_~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
