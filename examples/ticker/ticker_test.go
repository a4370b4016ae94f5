package main

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"testing/fstest"
	"time"

	"github.com/socketio-go/socketio/client"
)

func TestSubscribeGetsBoundedHistoryThenLiveTicks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tk := newTicker(slog.New(slog.DiscardHandler), fstest.MapFS{})
	hs := httptest.NewServer(newMux(tk))
	defer hs.Close()
	defer tk.srv.Shutdown(context.Background())

	same := func(p float64) float64 { return p }
	for range historyLen + 10 {
		tk.publish("ACME", same, "")
	}
	last := tk.publish("ACME", same, "")

	s, err := client.Connect(ctx, hs.URL, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Manager().Close()
	ticks := make(chan tick, 10)
	s.On("tick", func(e *client.Event) {
		var v tick
		_ = e.Decode(&v)
		ticks <- v
	})

	reply, err := s.EmitWithAck(ctx, "subscribe", "ACME")
	if err != nil {
		t.Fatal(err)
	}
	var sub subscribed
	if err := reply.Decode(&sub); err != nil {
		t.Fatal(err)
	}
	if len(sub.History) != historyLen || sub.History[historyLen-1].Price != last.Price || !sub.History[historyLen-1].Time.Equal(last.Time) {
		t.Fatalf("history of %d ticks ending %+v; want %d ending %+v", len(sub.History), sub.History[len(sub.History)-1], historyLen, last)
	}

	// Live: a trade on ACME reaches the subscriber, a tick of BOLT does not.
	tk.publish("BOLT", same, "")
	reply, err = s.EmitWithAck(ctx, "trade", tradeIn{Symbol: "ACME", Side: "buy"})
	if err != nil {
		t.Fatal(err)
	}
	var traded tick
	_ = reply.Decode(&traded)
	if got := <-ticks; got.Symbol != "ACME" || got.Trade != "buy" || got.Price != traded.Price {
		t.Fatalf("got tick %+v, want the trade %+v", got, traded)
	}

	// Unknown symbols are refused.
	for _, ev := range []string{"subscribe", "trade"} {
		var arg any = "NOPE"
		if ev == "trade" {
			arg = tradeIn{Symbol: "NOPE", Side: "buy"}
		}
		reply, err := s.EmitWithAck(ctx, ev, arg)
		if err != nil {
			t.Fatal(err)
		}
		var refusal struct{ Error string }
		if reply.Decode(&refusal); refusal.Error != errUnknownSymbol.Error() {
			t.Errorf("%s NOPE answered %s", ev, reply)
		}
	}

	// After "unsubscribe" is acknowledged, no ACME tick follows.
	if _, err := s.EmitWithAck(ctx, "unsubscribe", "ACME"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EmitWithAck(ctx, "subscribe", "CHIP"); err != nil {
		t.Fatal(err)
	}
	tk.publish("ACME", same, "")
	tk.publish("CHIP", same, "")
	// Handlers run in the order the events arrived: an ACME tick, had it
	// been sent, would come before the CHIP one.
	if got := <-ticks; got.Symbol != "CHIP" {
		t.Fatalf("tick after unsubscribing: %+v", got)
	}
}
