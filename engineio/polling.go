package engineio

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/socketio-go/socketio/engineio/packet"
)

// errStopPayload stops the decoding of a POST body after a packet that
// closed the session.
var errStopPayload = errors.New("stop")

// servePoll answers a long-polling GET: at once with the queued packets, or
// when a packet is queued, the session closes, or an upgrade needs the poll
// released.
func (s *Session) servePoll(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.getActive {
		after := s.closeLocked(ReasonTransportError, ErrPollOverlap)
		s.mu.Unlock()
		after()
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if s.state == stateClosed {
		linger := s.linger
		s.mu.Unlock()
		if !linger {
			writeRequestError(w, newRequestError(CodeUnknownSID, "session closed"))
			return
		}
		s.endLinger()
		s.writePoll(w, []byte{s.pollFinal})
		return
	}
	s.getActive = true
	// A long poll outlives any write timeout of the http.Server.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})

	// A poll that starts during an upgrade comes from a client that has not
	// seen the probe answer yet (a client that has, pauses polling). Like
	// the official server, which releases such a poll with a noop on a
	// 100ms tick, hold it briefly: if the upgrade completes meanwhile, the
	// poll is then refused like any request arriving after the upgrade (at
	// the end of the delay, so that the client has handled the probe answer
	// sent on the WebSocket before).
	var hold <-chan time.Time
	held := s.upgrading
	if held {
		t := time.NewTimer(upgradeNoopDelay)
		defer t.Stop()
		hold = t.C
	}
	var (
		payload  []byte
		after    = noop
		compress bool // the payload may be compressed (httpCompression)
	)
	for {
		if s.state == stateClosed {
			payload = []byte{s.pollFinal}
			break
		}
		if s.state == stateClosing && len(s.queue) == 0 {
			// What was queued went out with the previous poll; like the
			// official server, the close packet comes alone, so that the
			// client handles the last packets before the close.
			payload = []byte{'0' + byte(packet.Close)}
			after = s.closeLocked(ReasonForcedClose, nil)
			break
		}
		if len(s.queue) > 0 && s.eio3 {
			payload, _ = packet.AppendPayloadV3(nil, s.queue, s.v3b64&b64Polling == 0)
		} else if len(s.queue) > 0 {
			payload = packet.AppendPayload(make([]byte, 0, packet.PayloadLen(s.queue)), s.queue)
		}
		if len(s.queue) > 0 {
			compress = compressible(s.queue)
			s.written += uint64(len(s.queue))
			clear(s.queue)
			s.queue = s.queue[:0]
			s.backlog = 0
			s.releaseFlushersLocked()
			break
		}
		if s.upgraded && held && hold == nil {
			s.getActive = false
			s.mu.Unlock()
			writeRequestError(w, newRequestError(CodeBadRequest, "transport mismatch"))
			return
		}
		if (s.probed || s.upgraded) && hold == nil {
			payload = []byte{'0' + byte(packet.Noop)}
			break
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
			s.mu.Lock()
		case <-hold:
			s.mu.Lock()
			hold = nil
		case <-r.Context().Done():
			s.mu.Lock()
			s.getActive = false
			after := s.closeLocked(ReasonTransportError, fmt.Errorf("poll connection closed prematurely: %w", r.Context().Err()))
			s.mu.Unlock()
			after()
			return
		}
	}
	s.getActive = false
	s.mu.Unlock()
	after()

	if len(payload) == 1 && payload[0] == pollAbort {
		abortRequest(w)
		return
	}
	if s.eio3 {
		s.writePoll(w, payload) // v3 payloads go uncompressed
		return
	}
	s.srv.cfg.httpCompress.writePoll(w, r, payload, compress)
}

// abortRequest ends a request without a response: the client sees its
// connection close, as when the server's process exits.
func abortRequest(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	// HTTP/2, or a ResponseWriter that cannot be hijacked: net/http
	// resets the stream (or closes the connection) without logging.
	panic(http.ErrAbortHandler)
}

// Response header values, shared by every response (assigned, not Set, to
// save an allocation per header per request; a capacity equal to the length
// makes Header.Add copy rather than write into them).
var (
	headerTextPlain = []string{"text/plain; charset=UTF-8"}
	headerTextHTML  = []string{"text/html"}
	headerNoStore   = []string{"no-store"}
	headerLength2   = []string{"2"}
)

func writePollResponse(w http.ResponseWriter, payload []byte) {
	h := w.Header()
	h["Content-Type"] = headerTextPlain[:1:1]
	h["Content-Length"] = []string{strconv.Itoa(len(payload))}
	h["Cache-Control"] = headerNoStore[:1:1]
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(payload)
}

// servePost reads a long-polling POST and delivers its packets in order.
func (s *Session) servePost(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.postActive {
		after := s.closeLocked(ReasonTransportError, ErrPollOverlap)
		s.mu.Unlock()
		after()
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	binaryBody := r.Header.Get("Content-Type") == "application/octet-stream"
	if binaryBody && !s.eio3 {
		after := s.closeLocked(ReasonTransportError, errors.New("engineio: binary POST body in protocol v4"))
		s.mu.Unlock()
		after()
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.postActive = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.postActive = false
		s.mu.Unlock()
	}()

	// A body over the limit is refused with 413, like the official server
	// does, without closing the session: nothing of it is delivered, and
	// the client decides (the official one closes the connection).
	// A slow body (slowloris) must not hold the session: the body must
	// arrive within pingTimeout.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.srv.cfg.pingTimeout))
	limit := s.srv.cfg.maxBufferSize
	if r.ContentLength > limit {
		s.refuseTooLarge(w, r)
		return
	}
	var body []byte
	var err error
	if r.ContentLength >= 0 && r.ContentLength <= 64<<10 {
		// The common case: one allocation of the announced size (bounded:
		// a large body is allocated as it arrives, so that clients
		// announcing bodies they do not send cost nothing).
		body = make([]byte, r.ContentLength)
		_, err = io.ReadFull(r.Body, body)
	} else {
		body, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
	}
	if err == nil && int64(len(body)) > limit {
		s.refuseTooLarge(w, r)
		return
	}
	if err != nil {
		s.closeWith(ReasonTransportError, fmt.Errorf("data request connection closed prematurely: %w", err))
		return
	}
	deliver := func(p packet.Packet) error {
		if !s.handlePacket(p) {
			return errStopPayload
		}
		return nil
	}
	if s.eio3 {
		err = s.decodePostV3(body, binaryBody, deliver)
	} else {
		err = packet.DecodePayload(body, deliver)
	}
	if err != nil && !errors.Is(err, errStopPayload) {
		// The official server still answers "ok"; the session is gone and
		// the next request gets 400.
		s.closeWith(ReasonParseError, err)
	}
	h := w.Header()
	h["Content-Type"] = headerTextHTML[:1:1]
	h["Content-Length"] = headerLength2[:1:1]
	h["Cache-Control"] = headerNoStore[:1:1]
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "ok")
}

// upgradeNoopDelay is how long a poll starting during an upgrade is held.
const upgradeNoopDelay = 100 * time.Millisecond

// maxDiscard bounds what is read and dropped of a body over the limit.
const maxDiscard = 8 << 20

// refuseTooLarge answers a POST body over MaxHTTPBufferSize with 413. A
// reasonable excess is read and dropped first, so that the client, which
// sends its whole body before reading the answer, gets the 413 rather than a
// connection reset.
func (s *Session) refuseTooLarge(w http.ResponseWriter, r *http.Request) {
	s.srv.cfg.logger.Debug("engineio: POST body too large", "sid", s.id, "length", r.ContentLength)
	if r.ContentLength <= maxDiscard {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxDiscard))
	}
	w.WriteHeader(http.StatusRequestEntityTooLarge)
}
