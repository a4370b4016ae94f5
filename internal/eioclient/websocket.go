package eioclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/socketio-go/socketio/engineio/packet"
	"github.com/socketio-go/socketio/internal/websocket"
)

// wsTransport is the WebSocket transport: one packet per message.
type wsTransport struct {
	c  *Conn
	ws *websocket.Conn
}

func (w *wsTransport) name() string { return WebSocket }

// dialWebSocket opens a WebSocket for the session sid ("" for a new one).
func (c *Conn) dialWebSocket(ctx context.Context, sid string) (*websocket.Conn, error) {
	u := c.endpoint(WebSocket, sid, true)
	hdr := c.cfg.Header.Clone()
	jar := c.httpc.Jar
	if jar != nil {
		hu := c.endpoint(WebSocket, sid, false)
		for _, ck := range jar.Cookies(hu) {
			if hdr == nil {
				hdr = make(http.Header)
			}
			hdr.Add("Cookie", ck.Name+"="+ck.Value)
		}
	}
	ws, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{
		Header:      hdr,
		TLSConfig:   c.cfg.TLSConfig,
		NetDial:     c.cfg.Dialer,
		ReadLimit:   c.maxMsg,
		Compression: c.wsCompression(),
	})
	if err != nil {
		return nil, fmt.Errorf("socketio/client: websocket: %w", err)
	}
	if jar != nil {
		if cks := resp.Cookies(); len(cks) > 0 {
			jar.SetCookies(c.endpoint(WebSocket, sid, false), cks)
		}
	}
	return ws, nil
}

// openWebSocket performs the handshake over a new WebSocket.
func (c *Conn) openWebSocket(ctx context.Context) (*wsTransport, error) {
	ws, err := c.dialWebSocket(ctx, "")
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = ws.CloseNow() })
	typ, data, err := ws.ReadMessage()
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err == nil && typ != websocket.TextMessage {
		err = errors.New("binary message")
	}
	var pk packet.Packet
	if err == nil {
		pk, err = packet.DecodeText(data)
	}
	if err == nil {
		c.hs, err = parseHandshake(pk)
	}
	if err != nil {
		_ = ws.CloseNow()
		return nil, fmt.Errorf("socketio/client: websocket handshake: %w", err)
	}
	return &wsTransport{c: c, ws: ws}, nil
}

// loop reads and delivers messages until the WebSocket fails.
func (w *wsTransport) loop() {
	c := w.c
	for {
		typ, data, err := w.ws.ReadMessage()
		if err != nil {
			reason := ReasonTransportClose
			if errors.Is(err, websocket.ErrMessageTooBig) {
				reason = ReasonTransportError
				err = fmt.Errorf("%w: %w", ErrMessageTooBig, err)
			}
			c.fail(reason, err)
			return
		}
		pk := packet.Packet{Type: packet.Message, Binary: true, Data: data}
		if typ == websocket.TextMessage {
			if pk, err = packet.DecodeText(data); err != nil {
				c.fail(ReasonTransportError, err)
				return
			}
		}
		if !c.deliver(pk) {
			return
		}
	}
}

func (w *wsTransport) send(_ context.Context, pkts []packet.Packet) error {
	msgs := make([]websocket.Message, len(pkts))
	for i, p := range pkts {
		if p.Binary {
			msgs[i] = websocket.Message{Type: websocket.BinaryMessage, Data: p.Data, Uncompressed: p.NoCompress}
		} else {
			msgs[i] = websocket.Message{Type: websocket.TextMessage, Data: p.AppendText(nil), Uncompressed: p.NoCompress}
		}
	}
	return w.ws.WriteMessages(msgs)
}

// close sends a close frame without status code, as the browser and ws
// clients do on close(), when graceful.
func (w *wsTransport) close(graceful bool) {
	if graceful {
		_ = w.ws.Close(websocket.StatusNoStatus, "")
		return
	}
	_ = w.ws.CloseNow()
}

// probe tries to upgrade a long-polling session to WebSocket: open a
// WebSocket with the sid, exchange "2probe"/"3probe", pause polling (the
// server answers the pending GET with a noop), then send "5" and move the
// writer to the WebSocket. A failed probe leaves the session on
// long-polling.
func (c *Conn) probe() {
	ws, err := c.dialWebSocket(c.ctx, c.hs.SID)
	if err != nil {
		c.logger.Debug("socketio/client: upgrade failed", "err", err)
		return
	}
	stop := context.AfterFunc(c.ctx, func() { _ = ws.CloseNow() })
	abort := func(err error) {
		stop()
		_ = ws.CloseNow()
		if err != nil {
			c.logger.Debug("socketio/client: upgrade failed", "err", err)
		}
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte("2probe")); err != nil {
		abort(err)
		return
	}
	typ, data, err := ws.ReadMessage()
	if err == nil && (typ != websocket.TextMessage || string(data) != "3probe") {
		err = fmt.Errorf("unexpected probe answer %q", data)
	}
	if err != nil {
		abort(err)
		return
	}
	c.mu.Lock()
	pol, ok := c.tr.(*polling)
	if c.state != stateOpen || !ok {
		c.mu.Unlock()
		abort(nil)
		return
	}
	c.upgrading = true
	c.mu.Unlock()

	close(pol.pauseReq)
	select {
	case <-pol.paused:
	case <-c.ctx.Done():
	}
	c.writeMu.Lock()
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		c.writeMu.Unlock()
		abort(nil)
		return
	}
	wt := &wsTransport{c: c, ws: ws}
	c.tr = wt
	err = ws.WriteMessage(websocket.TextMessage, []byte("5"))
	c.upgrading = false
	c.mu.Unlock()
	c.writeMu.Unlock()
	stop()
	if err != nil {
		c.fail(ReasonTransportClose, err)
		return
	}
	c.tasks.Go(wt.loop)
	c.kick()
	c.recvMu.Lock()
	if !c.stopped && c.ctx.Err() == nil && c.h.OnUpgrade != nil {
		c.h.OnUpgrade(WebSocket)
	}
	c.recvMu.Unlock()
}

// wsCompression returns the compression offered on WebSockets, if any.
func (c *Conn) wsCompression() *websocket.CompressionOptions {
	if o := c.cfg.Compression; o != nil {
		return &websocket.CompressionOptions{Threshold: o.Threshold, Level: o.Level}
	}
	return nil
}
