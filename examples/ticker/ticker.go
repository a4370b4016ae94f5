package main

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/socketio-go/socketio"
)

// Events the page sends:
//
//	"subscribe"   "ACME" (ack)          join the symbol's room; acknowledged with its recent ticks
//	"unsubscribe" "ACME" (ack)          leave it
//	"trade"       {symbol, side} (ack)  buy or sell: moves the price at once
//
// Events the server sends:
//
//	"tick" {symbol, price, time, trade?}  to the symbol's room only

// symbols are the instruments of the ticker. Each has a room of the same
// name. The list is fixed: a client may not join arbitrary rooms (every
// socket is also in a room named after its id).
var symbols = []string{"ACME", "BOLT", "CHIP", "DYNA"}

// historyLen is how many recent ticks of a symbol a new subscriber gets, so
// that its chart does not start empty. It bounds the memory per symbol.
const historyLen = 60

// tick is one price update.
type tick struct {
	Symbol string    `json:"symbol"`
	Price  float64   `json:"price"`
	Time   time.Time `json:"time"`
	// Trade is "buy" or "sell" when a page's trade made this update.
	Trade string `json:"trade,omitempty"`
}

// tradeIn is the payload of "trade".
type tradeIn struct {
	Symbol string `json:"symbol"`
	Side   string `json:"side"`
}

// subscribed is the acknowledgement of "subscribe".
type subscribed struct {
	Symbol  string `json:"symbol"`
	History []tick `json:"history"`
}

// ticker is the application: prices, their recent history, and the
// Socket.IO server that publishes them.
type ticker struct {
	srv *socketio.Server
	log *slog.Logger

	mu      sync.Mutex
	rnd     *rand.Rand
	prices  map[string]float64
	history map[string][]tick // the last historyLen ticks of each symbol
}

var errUnknownSymbol = errors.New("unknown symbol")

func newTicker(log *slog.Logger, client fs.FS) *ticker {
	t := &ticker{
		log:     log,
		rnd:     rand.New(rand.NewPCG(1, 2)),
		prices:  make(map[string]float64),
		history: make(map[string][]tick),
	}
	for i, s := range symbols {
		t.prices[s] = 100 + 50*float64(i)
	}
	t.srv = socketio.NewServer(&socketio.Options{
		Logger:      log.With("component", "socketio"),
		ServeClient: client,
	})
	t.srv.OnConnection(t.onConnection)
	return t
}

func (t *ticker) onConnection(s *socketio.Socket) {
	s.On("subscribe", socketio.HandleAck(func(_ context.Context, s *socketio.Socket, sym string) (subscribed, error) {
		if !slices.Contains(symbols, sym) {
			return subscribed{}, errUnknownSymbol
		}
		// Join, then read the history: a tick published in between is
		// both in the history and delivered live; the page drops
		// duplicates by time. The other order could lose one.
		s.Join(sym)
		t.mu.Lock()
		h := slices.Clone(t.history[sym])
		t.mu.Unlock()
		return subscribed{Symbol: sym, History: h}, nil
	}))
	s.On("unsubscribe", socketio.HandleAck(func(_ context.Context, s *socketio.Socket, sym string) (bool, error) {
		// Once the page has this acknowledgement, no tick of sym
		// follows: the ticks broadcast before Leave were queued before it.
		s.Leave(sym)
		return true, nil
	}))
	s.On("trade", socketio.HandleAck(func(_ context.Context, _ *socketio.Socket, in tradeIn) (tick, error) {
		if !slices.Contains(symbols, in.Symbol) {
			return tick{}, errUnknownSymbol
		}
		var factor float64
		switch in.Side {
		case "buy":
			factor = 1.01
		case "sell":
			factor = 0.99
		default:
			return tick{}, errors.New("side must be buy or sell")
		}
		return t.publish(in.Symbol, func(p float64) float64 { return p * factor }, in.Side), nil
	}))
}

// run moves every price a little every interval until ctx is done.
func (t *ticker) run(ctx context.Context, interval time.Duration) {
	tk := time.NewTicker(interval)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		for _, sym := range symbols {
			t.publish(sym, func(p float64) float64 { return p }, "")
		}
	}
}

// publish changes the price of sym with move, records the tick and sends
// it to the symbol's room.
func (t *ticker) publish(sym string, move func(float64) float64, trade string) tick {
	t.mu.Lock()
	p := move(t.prices[sym])
	if trade == "" {
		p *= 1 + (t.rnd.Float64()-0.5)*0.01 // a random walk, ±0.5%
	}
	p = math.Round(p*100) / 100
	t.prices[sym] = p
	tk := tick{Symbol: sym, Price: p, Time: time.Now().UTC(), Trade: trade}
	h := append(t.history[sym], tk)
	if len(h) > historyLen {
		h = slices.Delete(h, 0, len(h)-historyLen)
	}
	t.history[sym] = h
	// Emit under the lock, so that the room gets the ticks of a symbol in
	// the order of the history. Emit only queues: it does not wait for
	// the clients.
	if err := t.srv.To(sym).Emit("tick", tk); err != nil {
		t.log.Error("broadcast", "symbol", sym, "err", err)
	}
	t.mu.Unlock()
	return tk
}
