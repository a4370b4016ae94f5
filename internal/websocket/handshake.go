package websocket

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// acceptGUID is the GUID of RFC 6455, section 1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// computeAccept returns the Sec-WebSocket-Accept value for key.
func computeAccept(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte(acceptGUID))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// headerHasToken reports whether a comma-separated list in one of the
// values of header name contains token, compared case-insensitively.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// IsWebSocketUpgrade reports whether r asks for a WebSocket upgrade: a GET
// request whose Connection header contains the token "upgrade" and whose
// Upgrade header contains the token "websocket" (case-insensitively, in
// comma-separated lists).
func IsWebSocketUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet &&
		len(r.Header["Upgrade"]) > 0 && // most requests have none: no lookup of Connection
		headerHasToken(r.Header, "Connection", "upgrade") &&
		headerHasToken(r.Header, "Upgrade", "websocket")
}

// UpgradeOptions configures Upgrade.
type UpgradeOptions struct {
	// ResponseHeader is added to the 101 response (e.g. Set-Cookie). Nil
	// means none. The handshake headers themselves (Upgrade, Connection,
	// Sec-WebSocket-Accept, Sec-WebSocket-Extensions) cannot be set; a
	// Sec-WebSocket-Protocol entry is passed through unchecked.
	ResponseHeader http.Header
	// ReadLimit is the maximum size in bytes of one message (after
	// reassembly of fragments). Zero means 1e6 bytes. A larger message
	// makes the connection send a close frame with StatusMessageTooBig and
	// ReadMessage return an error wrapping ErrMessageTooBig. With
	// compression, the limit applies to the decompressed message.
	ReadLimit int64
	// Compression, if set, accepts a client's permessage-deflate offer
	// (RFC 7692). Nil means no extension is negotiated, as with the
	// official server's default (perMessageDeflate: false).
	Compression *CompressionOptions
}

// Upgrade validates the client's opening handshake (a GET request over
// HTTP/1.1 or later with Upgrade and Connection tokens, Sec-WebSocket-Version
// 13 and a Sec-WebSocket-Key that base64-decodes to 16 bytes), hijacks the
// connection and writes the 101 response. opts may be nil.
//
// On an invalid handshake it writes an HTTP error response itself (426
// Upgrade Required with "Sec-WebSocket-Version: 13" for a missing or
// unsupported version, 400 Bad Request with a short text body otherwise)
// and returns an error wrapping ErrBadHandshake. Origin checking is left to
// the caller. No subprotocol is ever negotiated; the permessage-deflate
// extension is when opts.Compression is set and the client offers it.
//
// Bytes the client sent right after its handshake are kept. To let the
// HTTP server release its per-request state, return from the handler after
// Upgrade and read from the connection in another goroutine; the net/http
// read and write buffers are detached either way.
func Upgrade(w http.ResponseWriter, r *http.Request, opts *UpgradeOptions) (*Conn, error) {
	if opts == nil {
		opts = &UpgradeOptions{}
	}
	key, err := checkUpgrade(w, r)
	if err != nil {
		return nil, err
	}
	if err := checkCompressionOptions(opts.Compression); err != nil {
		http.Error(w, "websocket: invalid server configuration", http.StatusInternalServerError)
		return nil, err
	}
	var ext string
	var dfl *deflateState
	if opts.Compression != nil {
		ext, dfl = acceptDeflate(r.Header.Values("Sec-WebSocket-Extensions"), opts.Compression)
	}

	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "websocket: connection cannot be upgraded", http.StatusInternalServerError)
		return nil, fmt.Errorf("websocket: hijack: %w", err)
	}
	var leftover []byte
	if n := brw.Reader.Buffered(); n > 0 {
		leftover, _ = brw.Reader.Peek(n) // cannot fail: n bytes are buffered
	}

	resp := make([]byte, 0, 256)
	resp = append(resp, "HTTP/1.1 101 Switching Protocols\r\n"+
		"Upgrade: websocket\r\n"+
		"Connection: Upgrade\r\n"+
		"Sec-WebSocket-Accept: "...)
	resp = append(resp, computeAccept(key)...)
	resp = append(resp, "\r\n"...)
	if ext != "" {
		resp = append(resp, "Sec-WebSocket-Extensions: "...)
		resp = append(resp, ext...)
		resp = append(resp, "\r\n"...)
	}
	if len(opts.ResponseHeader) > 0 {
		var extra bytes.Buffer
		// Header.WriteSubset sanitizes values; it cannot fail on a Buffer.
		_ = opts.ResponseHeader.WriteSubset(&extra, map[string]bool{
			"Upgrade":                  true,
			"Connection":               true,
			"Sec-Websocket-Accept":     true,
			"Sec-Websocket-Extensions": true,
			"Content-Length":           true,
			"Transfer-Encoding":        true,
		})
		resp = append(resp, extra.Bytes()...)
	}
	resp = append(resp, "\r\n"...)

	c := newConn(nc, false, leftover, opts.ReadLimit)
	c.dfl = dfl
	// The hijacked buffers belong to the net/http connection, which stays
	// reachable while the handler runs. Detach their 4 KiB arrays so they
	// can be collected even if the handler blocks reading this Conn; the
	// server never uses them after a hijack.
	*brw.Reader = bufio.Reader{}
	*brw.Writer = bufio.Writer{}

	if _, err := nc.Write(resp); err != nil {
		nc.Close()
		return nil, fmt.Errorf("websocket: write handshake response: %w", err)
	}
	return c, nil
}

// checkUpgrade validates the opening handshake in r and returns the client
// key. On failure it writes the error response to w.
func checkUpgrade(w http.ResponseWriter, r *http.Request) (string, error) {
	fail := func(msg string) (string, error) {
		http.Error(w, "Bad Request: "+msg, http.StatusBadRequest)
		return "", fmt.Errorf("%w: %s", ErrBadHandshake, msg)
	}
	switch {
	case r.Method != http.MethodGet:
		return fail("method must be GET")
	case !r.ProtoAtLeast(1, 1):
		return fail("HTTP/1.1 required")
	case !headerHasToken(r.Header, "Connection", "upgrade"):
		return fail(`Connection header must contain "upgrade"`)
	case !headerHasToken(r.Header, "Upgrade", "websocket"):
		return fail(`Upgrade header must contain "websocket"`)
	}
	if v := r.Header.Values("Sec-WebSocket-Version"); len(v) != 1 || strings.TrimSpace(v[0]) != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		http.Error(w, "Upgrade Required: unsupported WebSocket version", http.StatusUpgradeRequired)
		return "", fmt.Errorf("%w: unsupported Sec-WebSocket-Version %q", ErrBadHandshake, v)
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return fail("exactly one Sec-WebSocket-Key header required")
	}
	key := strings.TrimSpace(keys[0])
	if b, err := base64.StdEncoding.DecodeString(key); err != nil || len(b) != 16 {
		return fail("invalid Sec-WebSocket-Key")
	}
	return key, nil
}

// DialOptions configures Dial.
type DialOptions struct {
	// Header holds extra request headers (e.g. Cookie, Authorization). A
	// Host entry overrides the host sent; the handshake headers cannot be
	// overridden, and Sec-WebSocket-Extensions is dropped (see
	// Compression).
	Header http.Header
	// TLSConfig is used for wss:// URLs; nil means the default
	// configuration. ServerName defaults to the URL's host, and ALPN is
	// always set to http/1.1.
	TLSConfig *tls.Config
	// NetDial opens the network connection; nil means a net.Dialer.
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)
	// ReadLimit is the maximum size in bytes of one message; zero means
	// 1e6 bytes. See UpgradeOptions.ReadLimit.
	ReadLimit int64
	// Compression, if set, offers the permessage-deflate extension
	// (RFC 7692); the server may accept or decline it. Nil means no
	// offer.
	Compression *CompressionOptions
}

// maxErrorBody is the number of bytes of a failed handshake's response body
// kept for the caller.
const maxErrorBody = 1024

// Dial opens a client connection to a ws:// or wss:// URL, honouring ctx for
// the dial and the opening handshake (but not for the returned connection).
// opts may be nil.
//
// It returns the handshake's *http.Response for header inspection (e.g.
// Set-Cookie); its Body is empty on success. If the server does not accept
// the upgrade, the response is returned along with an error wrapping
// ErrBadHandshake, and its Body holds up to the first 1 KiB of the body the
// server sent.
func Dial(ctx context.Context, rawURL string, opts *DialOptions) (*Conn, *http.Response, error) {
	if opts == nil {
		opts = &DialOptions{}
	}
	if err := checkCompressionOptions(opts.Compression); err != nil {
		return nil, nil, err
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("websocket: dial: %w", err)
	}
	var secure bool
	switch u.Scheme {
	case "ws", "http":
	case "wss", "https":
		secure = true
	default:
		return nil, nil, fmt.Errorf("websocket: dial %s: unsupported scheme %q", rawURL, u.Scheme)
	}
	if u.Host == "" {
		return nil, nil, fmt.Errorf("websocket: dial %s: missing host", rawURL)
	}
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if secure {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}

	netDial := opts.NetDial
	if netDial == nil {
		var d net.Dialer
		netDial = d.DialContext
	}
	raw, err := netDial(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("websocket: dial %s: %w", addr, err)
	}

	// Bound the handshake by ctx: its deadline directly, its cancellation
	// by expiring the connection's deadline.
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })

	c, resp, err := clientHandshake(ctx, raw, u, secure, opts)
	if !stop() && err == nil {
		// ctx ended while the handshake completed; honour it.
		err = ctx.Err()
	}
	if err != nil {
		raw.Close()
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w: %w", ctxErr, err)
		}
		return nil, resp, fmt.Errorf("websocket: dial %s: %w", rawURL, err)
	}
	_ = raw.SetDeadline(time.Time{})
	return c, resp, nil
}

// clientHandshake runs the client side of the opening handshake over raw.
func clientHandshake(ctx context.Context, raw net.Conn, u *url.URL, secure bool, opts *DialOptions) (*Conn, *http.Response, error) {
	nc := raw
	if secure {
		cfg := opts.TLSConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, nil, fmt.Errorf("tls handshake: %w", err)
		}
		nc = tc
	}

	var nonce [16]byte
	_, _ = rand.Read(nonce[:]) // never fails
	key := base64.StdEncoding.EncodeToString(nonce[:])

	hu := *u
	hu.Scheme = "http"
	if secure {
		hu.Scheme = "https"
	}
	req := &http.Request{
		Method:     http.MethodGet,
		URL:        &hu,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     opts.Header.Clone(),
		Host:       u.Host,
	}
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
	}
	req.Header.Del("Sec-WebSocket-Extensions")
	if opts.Compression != nil {
		req.Header.Set("Sec-WebSocket-Extensions", deflateOffer(opts.Compression))
	}
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", key)
	req.Header.Set("Sec-WebSocket-Version", "13")
	if err := req.Write(nc); err != nil {
		return nil, nil, fmt.Errorf("write handshake request: %w", err)
	}

	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, nil, fmt.Errorf("read handshake response: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		// Keep the start of the body for the caller, without waiting long
		// for a body that may never end.
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > time.Second {
			_ = raw.SetReadDeadline(time.Now().Add(time.Second))
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return nil, resp, fmt.Errorf("%w: unexpected status %s", ErrBadHandshake, resp.Status)
	}
	resp.Body = http.NoBody
	switch {
	case !headerHasToken(resp.Header, "Upgrade", "websocket"):
		return nil, resp, fmt.Errorf(`%w: Upgrade header must contain "websocket"`, ErrBadHandshake)
	case !headerHasToken(resp.Header, "Connection", "upgrade"):
		return nil, resp, fmt.Errorf(`%w: Connection header must contain "upgrade"`, ErrBadHandshake)
	case resp.Header.Get("Sec-WebSocket-Accept") != computeAccept(key):
		return nil, resp, fmt.Errorf("%w: invalid Sec-WebSocket-Accept", ErrBadHandshake)
	case opts.Compression == nil && resp.Header.Get("Sec-WebSocket-Extensions") != "":
		return nil, resp, fmt.Errorf("%w: server selected an extension that was not offered", ErrBadHandshake)
	}
	var dfl *deflateState
	if opts.Compression != nil {
		var err error
		if dfl, err = acceptDeflateResponse(resp.Header.Values("Sec-WebSocket-Extensions"), opts.Compression); err != nil {
			return nil, resp, fmt.Errorf("%w: %w", ErrBadHandshake, err)
		}
	}
	if p := resp.Header.Get("Sec-WebSocket-Protocol"); p != "" && !headerHasToken(req.Header, "Sec-WebSocket-Protocol", p) {
		return nil, resp, fmt.Errorf("%w: server selected a subprotocol that was not offered", ErrBadHandshake)
	}

	var leftover []byte
	if n := br.Buffered(); n > 0 {
		leftover, _ = br.Peek(n) // cannot fail: n bytes are buffered
	}
	c := newConn(nc, true, leftover, opts.ReadLimit)
	c.dfl = dfl
	return c, resp, nil
}
