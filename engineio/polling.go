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
		writePollResponse(w, []byte{s.pollFinal})
		return
	}
	s.getActive = true
	// A long poll outlives any write timeout of the http.Server.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})

	var (
		payload []byte
		after   = noop
	)
	for {
		if s.state == stateClosed {
			payload = packet.AppendPayload(nil, s.queue)
			clear(s.queue)
			s.queue = s.queue[:0]
			if len(payload) > 0 {
				payload = append(payload, packet.Separator)
			}
			payload = append(payload, s.pollFinal)
			break
		}
		if s.state == stateClosing {
			payload = packet.AppendPayload(nil, s.queue)
			clear(s.queue)
			s.queue = s.queue[:0]
			if len(payload) > 0 {
				payload = append(payload, packet.Separator)
			}
			payload = append(payload, '0'+byte(packet.Close))
			after = s.closeLocked(ReasonForcedClose, nil)
			break
		}
		if len(s.queue) > 0 {
			payload = packet.AppendPayload(make([]byte, 0, packet.PayloadLen(s.queue)), s.queue)
			clear(s.queue)
			s.queue = s.queue[:0]
			break
		}
		if s.probed || s.upgraded {
			payload = []byte{'0' + byte(packet.Noop)}
			break
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
			s.mu.Lock()
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

	writePollResponse(w, payload)
}

func writePollResponse(w http.ResponseWriter, payload []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(payload)))
	h.Set("Cache-Control", "no-store")
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
	if r.Header.Get("Content-Type") == "application/octet-stream" {
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

	limit := s.srv.cfg.maxBufferSize
	if r.ContentLength > limit {
		s.closeWith(ReasonTransportError, ErrPayloadTooLarge)
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.closeWith(ReasonTransportError, ErrPayloadTooLarge)
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		s.closeWith(ReasonTransportError, fmt.Errorf("data request connection closed prematurely: %w", err))
		return
	}
	err = packet.DecodePayload(body, func(p packet.Packet) error {
		if !s.handlePacket(p) {
			return errStopPayload
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStopPayload) {
		s.closeWith(ReasonParseError, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", "2")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "ok")
}
