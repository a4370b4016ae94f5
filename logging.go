package socketio

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/socketio-go/socketio/engineio"
)

// sampleInterval is the shortest time between two log records of one kind
// caused by clients (refused requests, invalid arguments): a server under
// attack logs one record per interval, with the count of those it left out,
// instead of one per request.
const sampleInterval = 10 * time.Second

// sampler lets one log record of a kind through per sampleInterval and
// counts the others.
type sampler struct {
	mu      sync.Mutex
	next    time.Time
	dropped int
}

// allow reports whether a record may be logged now and, if so, how many
// were left out since the last one.
func (l *sampler) allow() (ok bool, dropped int) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.next) {
		l.dropped++
		return false, 0
	}
	l.next = now.Add(sampleInterval)
	dropped, l.dropped = l.dropped, 0
	return true, dropped
}

// logSampled logs msg at level, or at Debug when a record of the same kind
// was logged less than sampleInterval ago.
func (s *Server) logSampled(l *sampler, level slog.Level, msg string, args ...any) {
	ok, dropped := l.allow()
	if !ok {
		level = slog.LevelDebug
	} else if dropped > 0 {
		args = append(args, "suppressed", dropped)
	}
	s.logger.Log(context.Background(), level, msg, args...)
}

// OnConnectionError adds a handler called for every HTTP request the
// server refuses (a disallowed origin, an unknown session id, a refusal of
// Options.AllowRequest…), as the official server's
// io.engine.on("connection_error"). It must not block. The refusal is also
// logged: at Warn for a forbidden request (Options.CORS or
// Options.AllowRequest), at Info otherwise, at most once per 10 s (the
// others at Debug). Calling Engine().SetHooks replaces this mechanism.
func (s *Server) OnConnectionError(h func(r *http.Request, err *engineio.RequestError)) {
	s.hookMu.Lock()
	s.connErrHooks = append(s.connErrHooks, h)
	s.hookMu.Unlock()
}

func (s *Server) connectionError(r *http.Request, e *engineio.RequestError) {
	level := slog.LevelInfo
	if e.Code == engineio.CodeForbidden {
		level = slog.LevelWarn
	}
	s.logSampled(&s.refusals, level, "socketio: request refused", "err", e.Error(), "remote", r.RemoteAddr, "origin", r.Header.Get("Origin"))
	s.hookMu.Lock()
	hs := s.connErrHooks
	s.hookMu.Unlock()
	for _, h := range hs {
		h(r, e)
	}
}
