package engineio

import (
	"context"
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
	if !held {
		if a, ok := s.pollAnswerLocked(false); ok {
			s.getActive = false
			s.mu.Unlock()
			s.answerPoll(w, r, a)
			return
		}
		// Nothing to send yet: on a server that can (our own HTTP/1.1
		// loop), the request is detached and answered by whichever
		// goroutine queues the next packet, with no goroutine waiting
		// meanwhile (see takePollLocked).
		if d, ok := w.(detacher); ok {
			p := &pendingPoll{w: w, r: r}
			if p.finish = d.Detach(func() { s.pollGone(p) }); p.finish != nil {
				s.poll = p
				s.mu.Unlock()
				return
			}
		}
	}
	var (
		a    pollAnswer
		wait *pendingPoll // made when the poll first waits
	)
	for {
		// A held poll gets no noop once the upgrade completed: it is
		// refused below at the end of the delay.
		var ok bool
		if a, ok = s.pollAnswerLocked(hold != nil || held && s.upgraded); ok {
			break
		}
		if s.upgraded && held && hold == nil {
			s.getActive = false
			s.mu.Unlock()
			writeRequestError(w, newRequestError(CodeBadRequest, "transport mismatch"))
			return
		}
		if wait == nil {
			wait = &pendingPoll{wake: make(chan struct{}, 1)}
		}
		s.poll = wait
		s.mu.Unlock()
		select {
		case <-wait.wake:
			s.mu.Lock()
		case <-hold:
			s.mu.Lock()
			hold = nil
		case <-r.Context().Done():
			s.mu.Lock()
			s.poll = nil
			s.getActive = false
			after := s.closeLocked(ReasonTransportError, fmt.Errorf("poll connection closed prematurely: %w", r.Context().Err()))
			s.mu.Unlock()
			after()
			return
		}
		s.poll = nil
	}
	s.getActive = false
	s.mu.Unlock()
	s.answerPoll(w, r, a)
}

// pollAnswer is what a pending poll answers.
type pollAnswer struct {
	payload  []byte
	after    func() // run before the answer is written
	compress bool   // the payload may be compressed (httpCompression)
}

// pollAnswerLocked returns what a pending poll answers now, if it does:
// the queued packets, the close, or a noop during an upgrade (unless
// holding: a poll that started during the upgrade is held for a moment).
func (s *Session) pollAnswerLocked(holding bool) (pollAnswer, bool) {
	a := pollAnswer{after: noop}
	switch {
	case s.state == stateClosed:
		a.payload = []byte{s.pollFinal}
	case s.state == stateClosing && len(s.queue) == 0:
		// What was queued went out with the previous poll; like the
		// official server, the close packet comes alone, so that the
		// client handles the last packets before the close.
		a.payload = []byte{'0' + byte(packet.Close)}
		a.after = s.closeLocked(ReasonForcedClose, nil)
	case len(s.queue) > 0:
		if s.eio3 {
			a.payload, _ = packet.AppendPayloadV3(nil, s.queue, s.v3b64&b64Polling == 0)
		} else {
			a.payload = packet.AppendPayload(make([]byte, 0, packet.PayloadLen(s.queue)), s.queue)
		}
		a.compress = compressible(s.queue)
		s.written += uint64(len(s.queue))
		clear(s.queue)
		s.queue = s.queue[:0]
		s.backlog = 0
		s.releaseFlushersLocked()
	case (s.probed || s.upgraded) && !holding:
		a.payload = []byte{'0' + byte(packet.Noop)}
	default:
		return a, false
	}
	return a, true
}

// answerPoll writes a poll's answer, after running its after.
func (s *Session) answerPoll(w http.ResponseWriter, r *http.Request, a pollAnswer) {
	a.after()
	if len(a.payload) == 1 && a.payload[0] == pollAbort {
		abortRequest(w)
		return
	}
	if s.eio3 {
		s.writePoll(w, a.payload) // v3 payloads go uncompressed
		return
	}
	s.srv.cfg.httpCompress.writePoll(w, r, a.payload, a.compress)
}

// detacher is a ResponseWriter whose response can outlive the handler
// (the fast path's, internal/h1): see its Detach.
type detacher interface {
	Detach(gone func()) (finish func(abort bool))
}

// requestReuser is a ResponseWriter whose server can reuse the memory of
// the request once the handler is done with it (the fast path's,
// internal/h1): see its ReuseRequest.
type requestReuser interface {
	ReuseRequest()
}

// reuseRequest tells w's server, if it can reuse requests, that nothing
// keeps the request once its response is complete. It is called once a
// request of an open session was served (a poll, a POST, or a refused
// method): servePoll and servePost pass the request to no user code and
// keep nothing of it (a detached poll keeps it until its finish, which
// completes the response).
func reuseRequest(w http.ResponseWriter) {
	if ru, ok := w.(requestReuser); ok {
		ru.ReuseRequest()
	}
}

// pendingPoll is a poll waiting for something to send: detached (finish
// set), or waiting in servePoll on wake.
type pendingPoll struct {
	w      http.ResponseWriter
	r      *http.Request
	finish func(abort bool)
	wake   chan struct{} // capacity 1
}

// detached reports whether p is a detached poll (nil: no poll).
func (p *pendingPoll) detached() bool { return p != nil && p.finish != nil }

// takePollLocked takes the detached poll if it has an answer now. The
// caller answers it with answerDetached once s.mu is released.
func (s *Session) takePollLocked() (*pendingPoll, pollAnswer, bool) {
	p := s.poll
	if !p.detached() {
		return nil, pollAnswer{}, false
	}
	// Taken first: the answer may close the session, which signals the
	// poll again.
	s.poll = nil
	a, ok := s.pollAnswerLocked(false)
	if !ok {
		s.poll = p
		return nil, pollAnswer{}, false
	}
	s.getActive = false
	return p, a, true
}

// answerDetached writes the answer of a detached poll and finishes it.
func (s *Session) answerDetached(p *pendingPoll, a pollAnswer) {
	if len(a.payload) == 1 && a.payload[0] == pollAbort {
		a.after()
		p.finish(true)
		return
	}
	s.answerPoll(p.w, p.r, a)
	p.finish(false)
}

// signalPollLocked tells the pending poll that it may have an answer: a
// detached one is answered on a goroutine of its own, a waiting one is
// woken.
func (s *Session) signalPollLocked() {
	switch {
	case s.poll.detached():
		if p, a, ok := s.takePollLocked(); ok {
			s.srv.tasks.Go(func() { s.answerDetached(p, a) })
		}
	case s.poll != nil:
		select {
		case s.poll.wake <- struct{}{}:
		default:
		}
	}
}

// releasePoll answers the detached poll if it has an answer now.
func (s *Session) releasePoll() {
	s.mu.Lock()
	p, a, ok := s.takePollLocked()
	s.mu.Unlock()
	if ok {
		s.answerDetached(p, a)
	}
}

// pollGone is called when the connection of the detached poll p ends
// before p was answered: the session closes, as when a waiting poll's
// request ends.
func (s *Session) pollGone(p *pendingPoll) {
	s.mu.Lock()
	if s.poll != p {
		s.mu.Unlock()
		return
	}
	s.poll = nil
	s.getActive = false
	after := s.closeLocked(ReasonTransportError, fmt.Errorf("poll connection closed prematurely: %w", context.Canceled))
	s.mu.Unlock()
	after()
	p.finish(true)
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
	binaryBody := headerValue(r.Header, "Content-Type") == "application/octet-stream"
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
