package main

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"regexp"
	"sync"

	"github.com/socketio-go/socketio"
)

// Events the page sends:
//
//	"stroke" {color, width, points} (ack)  a finished stroke; acknowledged with its id
//	"cursor" {x, y, rest?}                where the pointer is (volatile; rest: it stopped there, reliable)
//	"clear"                               wipe the board, for everyone
//
// Events the server sends:
//
//	"init"   {strokes}        on connection: the drawing so far
//	"stroke" {id, color, width, points}  to everyone but the author
//	"cursor" {id, x, y, rest?}  to everyone but the mover, volatile unless rest
//	"gone"   id               a page left: remove its cursor
//	"clear"                   to everyone but the one who cleared

// Bounds of what the server keeps and accepts: the drawing lives in memory
// and every late joiner gets all of it.
const (
	maxStrokes = 2000 // the oldest strokes go first
	maxPoints  = 2000 // per stroke
	boardW     = 800  // coordinates are in the board's own units
	boardH     = 500
)

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// point is [x, y] on the wire, to keep strokes small.
type point [2]float64

type stroke struct {
	ID     int     `json:"id"`
	Color  string  `json:"color"`
	Width  float64 `json:"width"`
	Points []point `json:"points"`
}

type cursor struct {
	ID   string  `json:"id"`
	X    float64 `json:"x"`
	Y    float64 `json:"y"`
	Rest bool    `json:"rest,omitempty"` // the pointer stopped here
}

// board is the application: the drawing and the server that shares it.
type board struct {
	srv *socketio.Server
	log *slog.Logger

	mu      sync.Mutex
	strokes []stroke
	nextID  int
}

func newBoard(log *slog.Logger, client fs.FS) *board {
	b := &board{log: log}
	b.srv = socketio.NewServer(&socketio.Options{
		Logger:      log.With("component", "socketio"),
		ServeClient: client,
		// A stroke of maxPoints points is about 30 kB of JSON: well under
		// the default 1 MB.
	})
	b.srv.OnConnection(b.onConnection)
	return b
}

var errBadStroke = errors.New("invalid stroke")

// validate checks a stroke from a page: a color, a sane width, and points on
// the board.
func validate(st stroke) error {
	if !colorRE.MatchString(st.Color) || st.Width <= 0 || st.Width > 50 ||
		len(st.Points) == 0 || len(st.Points) > maxPoints {
		return errBadStroke
	}
	for _, p := range st.Points {
		if p[0] < 0 || p[0] > boardW || p[1] < 0 || p[1] > boardH {
			return errBadStroke
		}
	}
	return nil
}

func (b *board) onConnection(s *socketio.Socket) {
	// The drawing so far. New strokes are stored and broadcast under the
	// same lock, so none is missed: a stroke is in "init" or arrives after
	// it (or both, if it came in while the socket was joining; the page
	// drops duplicates by id).
	b.mu.Lock()
	strokes := b.strokes
	if strokes == nil {
		strokes = []stroke{} // [] for the page, not null
	}
	err := s.Emit("init", map[string]any{"strokes": strokes})
	b.mu.Unlock()
	if err != nil {
		b.log.Error("init", "err", err)
	}

	s.On("stroke", socketio.HandleAck(func(_ context.Context, s *socketio.Socket, st stroke) (int, error) {
		if err := validate(st); err != nil {
			return 0, err
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		b.nextID++
		st.ID = b.nextID
		b.strokes = append(b.strokes, st)
		if len(b.strokes) > maxStrokes {
			b.strokes = b.strokes[len(b.strokes)-maxStrokes:]
		}
		// Everyone but the author, who drew it already.
		if err := s.Broadcast().Emit("stroke", st); err != nil {
			return 0, err
		}
		return st.ID, nil
	}))

	// Cursors are volatile: if a page cannot keep up (or is between two
	// transports), positions are dropped rather than queued; the next one
	// makes up for it. The position where the pointer comes to rest
	// (Rest) is sent reliably, so that no cursor stays where a dropped
	// update left it.
	s.On("cursor", socketio.Handle(func(s *socketio.Socket, c cursor) {
		c.ID = s.ID()
		to := s.Broadcast()
		if !c.Rest {
			to = to.Volatile()
		}
		_ = to.Emit("cursor", c)
	}))

	s.On("clear", func(e *socketio.Event) {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.strokes = nil
		_ = s.Broadcast().Emit("clear")
	})

	s.OnDisconnect(func(socketio.DisconnectReason) {
		_ = b.srv.Emit("gone", s.ID())
	})
}
