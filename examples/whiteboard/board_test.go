package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"testing"
	"testing/fstest"
	"time"

	"github.com/socketio-go/socketio/client"
)

// startBoard serves the whiteboard like main does, with a stand-in browser
// client, and returns its URL.
func startBoard(t *testing.T) string {
	t.Helper()
	b := newBoard(slog.New(slog.DiscardHandler), fstest.MapFS{"socket.io.min.js": {Data: []byte("//")}})
	hs := httptest.NewServer(newMux(b))
	t.Cleanup(func() {
		_ = b.srv.Shutdown(context.Background())
		hs.Close()
	})
	return hs.URL
}

// page is a connected client with its "init" and live strokes.
type page struct {
	s       *client.Socket
	init    chan []stroke
	strokes chan stroke
}

func open(t *testing.T, ctx context.Context, url string) *page {
	t.Helper()
	s, err := client.Connect(ctx, url, &client.Options{Transports: []string{client.TransportWebSocket}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Manager().Close)
	p := &page{s: s, init: make(chan []stroke, 1), strokes: make(chan stroke, 10)}
	s.On("init", func(e *client.Event) {
		var v struct{ Strokes []stroke }
		if err := e.Decode(&v); err != nil || v.Strokes == nil {
			t.Errorf("init: %s (%v)", e.Args(), err)
		}
		p.init <- v.Strokes
	})
	s.On("stroke", func(e *client.Event) {
		var st stroke
		_ = e.Decode(&st)
		p.strokes <- st
	})
	return p
}

func (p *page) draw(t *testing.T, ctx context.Context, st stroke) (int, error) {
	t.Helper()
	reply, err := p.s.EmitWithAck(ctx, "stroke", st)
	if err != nil {
		t.Fatal(err)
	}
	var id int
	if reply.Decode(&id) != nil {
		var refusal struct{ Error string }
		_ = json.Unmarshal(reply.Raw(0), &refusal)
		return 0, &refusalError{refusal.Error}
	}
	return id, nil
}

type refusalError struct{ msg string }

func (e *refusalError) Error() string { return e.msg }

func TestStrokesReachOthersAndLateJoiners(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := startBoard(t)
	a, b := open(t, ctx, url), open(t, ctx, url)
	for _, p := range []*page{a, b} {
		if got := <-p.init; len(got) != 0 {
			t.Fatalf("init of an empty board: %v", got)
		}
	}
	line := stroke{Color: "#2563eb", Width: 4, Points: []point{{10, 10}, {200, 100}}}
	id, err := a.draw(t, ctx, line)
	if err != nil {
		t.Fatal(err)
	}
	got := <-b.strokes
	if got.ID != id || got.Color != line.Color || len(got.Points) != 2 {
		t.Fatalf("b got %+v, want id %d", got, id)
	}

	// Refused strokes are neither kept nor broadcast.
	for _, bad := range []stroke{
		{Color: "red", Width: 4, Points: []point{{1, 1}}},
		{Color: "#000000", Width: 0, Points: []point{{1, 1}}},
		{Color: "#000000", Width: 4, Points: []point{{-1, 1}}},
		{Color: "#000000", Width: 4, Points: make([]point, maxPoints+1)},
		{Color: "#000000", Width: 4},
	} {
		if _, err := a.draw(t, ctx, bad); err == nil {
			t.Errorf("stroke %+v accepted", bad)
		}
	}

	c := open(t, ctx, url)
	late := <-c.init
	if len(late) != 1 || late[0].ID != id {
		t.Fatalf("late joiner got %+v, want the one stroke %d", late, id)
	}
	select {
	case st := <-a.strokes:
		t.Fatalf("the author got its own stroke back: %+v", st)
	default:
	}
}

func TestDrawingIsBounded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	url := startBoard(t)
	a := open(t, ctx, url)
	<-a.init
	var last int
	for i := range maxStrokes + 10 {
		id, err := a.draw(t, ctx, stroke{Color: "#000000", Width: 1, Points: []point{{float64(i % boardW), 1}}})
		if err != nil {
			t.Fatal(err)
		}
		last = id
	}
	late := <-open(t, ctx, url).init
	if len(late) != maxStrokes || late[0].ID != last-maxStrokes+1 || late[len(late)-1].ID != last {
		t.Fatalf("late joiner got %d strokes, ids %d..%d; want the last %d, up to %d",
			len(late), late[0].ID, late[len(late)-1].ID, maxStrokes, last)
	}
}
