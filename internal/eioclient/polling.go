package eioclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/socketio-go/socketio/engineio/packet"
)

// endpoint returns the URL of a request of transport name, with the
// protocol parameters added to the user's query.
func (c *Conn) endpoint(name, sid string, ws bool) *url.URL {
	u := *c.cfg.URL
	if ws {
		switch u.Scheme {
		case "http":
			u.Scheme = "ws"
		case "https":
			u.Scheme = "wss"
		}
	} else {
		switch u.Scheme {
		case "ws":
			u.Scheme = "http"
		case "wss":
			u.Scheme = "https"
		}
	}
	q := u.Query()
	q.Set("EIO", "4")
	q.Set("transport", name)
	if sid != "" {
		q.Set("sid", sid)
	}
	u.RawQuery = q.Encode()
	return &u
}

// polling is the HTTP long-polling transport: a loop of GET requests
// receiving packets, and a POST per batch of packets sent.
type polling struct {
	c        *Conn
	url      *url.URL
	seq      atomic.Uint64
	pauseReq chan struct{} // closed to stop the loop after the current GET
	paused   chan struct{} // closed when the loop has returned
}

func (p *polling) name() string { return Polling }

// requestURL returns the URL of the next request, with a cache-busting
// "t" parameter as engine.io-client adds.
func (p *polling) requestURL() string {
	u := *p.url
	t := strconv.FormatInt(time.Now().UnixMilli(), 36) + "." + strconv.FormatUint(p.seq.Add(1), 36)
	if u.RawQuery != "" {
		u.RawQuery += "&"
	}
	u.RawQuery += "t=" + t
	return u.String()
}

// statusError reports a long-polling request answered with an error
// status.
type statusError struct {
	method string
	code   int
	path   string
	reason string // the message of an Engine.IO error body
}

func (e *statusError) Error() string {
	s := fmt.Sprintf("socketio/client: polling %s: HTTP status %d", e.method, e.code)
	if e.reason != "" {
		s += ": " + e.reason
	}
	if e.code == http.StatusNotFound {
		s += " (is a Socket.IO server mounted at " + e.path + "? See Options.Path)"
	}
	return s
}

func (p *polling) do(ctx context.Context, method string, body []byte) ([]byte, error) {
	resp, err := p.request(ctx, method, body)
	if err != nil && ctx.Err() == nil && closedBeforeAnswer(err) &&
		(method != http.MethodGet || p.c.cfg.RetryGet == nil || p.c.cfg.RetryGet()) {
		// Most often the server closed a kept-alive connection as the
		// request went out on it: net/http does not retry that on a
		// connection that was dialed but never used (a server with
		// ReadHeaderTimeout closes those), nor any POST. Send it once
		// more. (The connection may also have been cut after the server
		// answered: see Config.RetryGet.)
		resp, err = p.request(ctx, method, body)
	}
	if err != nil {
		return nil, fmt.Errorf("socketio/client: polling %s: %w", method, err)
	}
	defer resp.Body.Close()
	limit := p.c.maxMsg
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		var refusal struct{ Message string }
		_ = json.Unmarshal(body, &refusal)
		return nil, &statusError{method: method, code: resp.StatusCode, path: resp.Request.URL.Path, reason: refusal.Message}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("socketio/client: polling %s: %w", method, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: polling response larger than %d bytes", ErrMessageTooBig, limit)
	}
	return data, nil
}

// request makes one request.
func (p *polling) request(ctx context.Context, method string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.requestURL(), rd)
	if err != nil {
		return nil, err
	}
	if body == nil && p.c.cfg.RetryGet != nil && !p.c.cfg.RetryGet() {
		// net/http sends a GET again by itself when a kept-alive
		// connection breaks before the answer (see Config.RetryGet): an
		// empty body that is not http.NoBody makes the request not
		// replayable to it. It sends no body: it finds this one empty.
		req.Body = io.NopCloser(strings.NewReader(""))
	}
	for k, v := range p.c.cfg.Header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	return p.c.httpc.Do(req)
}

// closedBeforeAnswer reports whether err means that the server closed the
// connection without answering: end of stream or reset.
func closedBeforeAnswer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// openPolling performs the handshake over long-polling. It returns the
// transport and the packets that followed the OPEN packet in the first
// response.
func (c *Conn) openPolling(ctx context.Context) (*polling, []packet.Packet, error) {
	p := &polling{c: c, url: c.endpoint(Polling, "", false), pauseReq: make(chan struct{}), paused: make(chan struct{})}
	body, err := p.do(ctx, http.MethodGet, nil)
	if err != nil {
		return nil, nil, err
	}
	var pkts []packet.Packet
	err = packet.DecodePayload(body, func(pk packet.Packet) error {
		pkts = append(pkts, pk)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("socketio/client: handshake: %w", err)
	}
	if c.hs, err = parseHandshake(pkts[0]); err != nil {
		return nil, nil, err
	}
	p.url = c.endpoint(Polling, c.hs.SID, false)
	return p, pkts[1:], nil
}

// loop delivers the packets that came with the handshake, then polls until
// the Conn closes or an upgrade pauses the transport.
func (p *polling) loop(first []packet.Packet) {
	defer close(p.paused)
	c := p.c
	for _, pk := range first {
		if !p.handle(pk) {
			return
		}
	}
	for {
		select {
		case <-p.pauseReq:
			return
		default:
		}
		body, err := p.do(c.ctx, http.MethodGet, nil)
		if err != nil {
			c.fail(ReasonTransportError, err)
			return
		}
		err = packet.DecodePayload(body, func(pk packet.Packet) error {
			if !p.handle(pk) {
				return errStop
			}
			return nil
		})
		switch {
		case errors.Is(err, errStop):
			return
		case err != nil:
			c.fail(ReasonTransportError, err)
			return
		}
	}
}

var errStop = errors.New("stop")

// handle delivers one packet received by polling. Text packets alias the
// response body, which is not reused: they are passed on as they are.
func (p *polling) handle(pk packet.Packet) bool { return p.c.deliver(pk) }

func (p *polling) send(ctx context.Context, pkts []packet.Packet) error {
	_, err := p.do(ctx, http.MethodPost, packet.AppendPayload(nil, pkts))
	return err
}

// close sends a CLOSE packet when graceful; the pending GET is ended by the
// Conn's context.
func (p *polling) close(graceful bool) {
	if !graceful {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if _, err := p.do(ctx, http.MethodPost, []byte{'1'}); err != nil {
		p.c.logger.Debug("socketio/client: polling close", "err", err)
	}
}
