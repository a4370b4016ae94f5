package engineio

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// corsPolicy is the single origin policy of a server: it answers
// preflights, sets the CORS headers of polling responses and decides whether
// a request (polling or WebSocket upgrade) from a given origin is accepted.
type corsPolicy struct {
	configured  bool // false: same-origin only, no CORS headers
	any         bool
	origins     map[string]bool
	allowFunc   func(string) bool
	credentials bool
	methods     string
	headers     string
	exposed     string
	maxAge      string
}

func newCORSPolicy(o *CORSOptions) *corsPolicy {
	p := &corsPolicy{}
	if o == nil {
		return p
	}
	p.configured = true
	p.origins = make(map[string]bool, len(o.Origins))
	for _, origin := range o.Origins {
		if origin == "*" {
			p.any = true
			continue
		}
		p.origins[strings.TrimSuffix(origin, "/")] = true
	}
	p.allowFunc = o.AllowOrigin
	p.credentials = o.Credentials
	if p.any && p.credentials {
		panic(`engineio: CORSOptions.Credentials cannot be combined with the "*" origin`)
	}
	methods := o.Methods
	if methods == nil {
		methods = defaultCORSMethods
	}
	p.methods = strings.Join(methods, ",")
	p.headers = strings.Join(o.AllowedHeaders, ",")
	p.exposed = strings.Join(o.ExposedHeaders, ",")
	if o.MaxAge > 0 {
		p.maxAge = strconv.FormatInt(int64(o.MaxAge.Seconds()), 10)
	}
	return p
}

// sameOrigin reports whether origin names the host the request was sent to.
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// allowed reports whether a request carrying this Origin header may proceed.
// Requests without an Origin header come from non-browser clients and are
// always allowed.
func (p *corsPolicy) allowed(r *http.Request) bool {
	origin := headerValue(r.Header, "Origin")
	if origin == "" {
		return true
	}
	if sameOrigin(origin, r) {
		return true
	}
	if !p.configured {
		return false
	}
	return p.allowsOrigin(origin)
}

func (p *corsPolicy) allowsOrigin(origin string) bool {
	if p.any || p.origins[origin] {
		return true
	}
	return p.allowFunc != nil && p.allowFunc(origin)
}

// setHeaders adds the CORS response headers for r to h.
func (p *corsPolicy) setHeaders(h http.Header, r *http.Request) {
	if !p.configured {
		return
	}
	origin := headerValue(r.Header, "Origin")
	if p.any {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Add("Vary", "Origin")
		if origin == "" || !p.allowsOrigin(origin) {
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
	}
	if p.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if p.exposed != "" {
		h.Set("Access-Control-Expose-Headers", p.exposed)
	}
}

// preflight answers an OPTIONS request. It reports false when the request
// is not a CORS preflight and must be handled normally.
func (p *corsPolicy) preflight(w http.ResponseWriter, r *http.Request) bool {
	if !p.configured || r.Method != http.MethodOptions {
		return false
	}
	h := w.Header()
	p.setHeaders(h, r)
	h.Set("Access-Control-Allow-Methods", p.methods)
	if p.headers != "" {
		h.Set("Access-Control-Allow-Headers", p.headers)
	} else if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Add("Vary", "Access-Control-Request-Headers")
		h.Set("Access-Control-Allow-Headers", req)
	}
	if p.maxAge != "" {
		h.Set("Access-Control-Max-Age", p.maxAge)
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
	return true
}
