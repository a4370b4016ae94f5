package cluster

import (
	"context"
	"iter"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/parser"
)

// countingNS is a namespace that counts the local deliveries.
type countingNS struct {
	adapter.Namespace
	mu        sync.Mutex
	delivered int
}

func (n *countingNS) Name() string { return "/" }
func (n *countingNS) Deliver(*parser.Packet, adapter.BroadcastFlags, iter.Seq[adapter.SocketID]) {
	n.mu.Lock()
	n.delivered++
	n.mu.Unlock()
}

// gateTransport publishes only when its gate is open, recording the order;
// with batch, it is a BatchTransport.
type gateTransport struct {
	gate    chan struct{}
	mu      sync.Mutex
	types   []MessageType
	batches []int
}

func (t *gateTransport) Start(context.Context, func(*Message, string)) error { return nil }
func (t *gateTransport) Publish(ctx context.Context, m *Message) (string, error) {
	select {
	case <-t.gate:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	t.mu.Lock()
	t.types = append(t.types, m.Type)
	t.mu.Unlock()
	return "", nil
}
func (t *gateTransport) PublishResponse(context.Context, string, *Message) error { return nil }
func (t *gateTransport) ServerCount(context.Context) (int, error)                { return 2, nil }
func (t *gateTransport) Close(context.Context) error                             { return nil }

type batchGateTransport struct{ gateTransport }

func (t *batchGateTransport) PublishBatch(ctx context.Context, ms []*Message) ([]string, []error) {
	select {
	case <-t.gate:
	case <-ctx.Done():
		return nil, []error{ctx.Err()}
	}
	t.mu.Lock()
	for _, m := range ms {
		t.types = append(t.types, m.Type)
	}
	t.batches = append(t.batches, len(ms))
	t.mu.Unlock()
	return make([]string, len(ms)), make([]error, len(ms))
}

// TestBroadcastDoesNotWaitForTheBroker: broadcasts and room operations
// return (and are delivered locally) while the broker has not taken them;
// they are published later, in order, in batches with a BatchTransport; a
// request waits for what was queued before it.
func TestBroadcastDoesNotWaitForTheBroker(t *testing.T) {
	for _, batch := range []bool{false, true} {
		gt := &gateTransport{gate: make(chan struct{})}
		var tr Transport = gt
		if batch {
			bt := &batchGateTransport{gateTransport{gate: gt.gate}}
			gt, tr = &bt.gateTransport, bt
		}
		ns := &countingNS{}
		a := New(ns, tr, Options{UID: "me"})
		if err := a.Init(context.Background()); err != nil {
			t.Fatal(err)
		}
		p := func() *parser.Packet {
			return &parser.Packet{Type: parser.Event, ID: parser.NoID, Data: []byte(`["e"]`), Attachments: [][]byte{{1}}}
		}
		for range 10 {
			if err := a.Broadcast(p(), adapter.BroadcastOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		_ = a.AddSockets(adapter.BroadcastOptions{}, []string{"r"})
		_ = a.Broadcast(p(), adapter.BroadcastOptions{Rooms: []string{"r"}})
		ns.mu.Lock()
		if ns.delivered != 11 {
			t.Fatalf("batch=%v: %d local deliveries before the broker took anything, want 11", batch, ns.delivered)
		}
		ns.mu.Unlock()
		sse := make(chan error, 1)
		go func() {
			sse <- a.ServerSideEmit(context.Background(), &parser.Packet{Type: parser.Event, ID: parser.NoID, Data: []byte(`["x"]`)})
		}()
		select {
		case err := <-sse:
			t.Fatalf("batch=%v: ServerSideEmit returned (%v) before what was queued went out", batch, err)
		case <-time.After(20 * time.Millisecond):
		}
		close(gt.gate)
		if err := <-sse; err != nil {
			t.Fatal(err)
		}
		gt.mu.Lock()
		want := []MessageType{Broadcast, Broadcast, Broadcast, Broadcast, Broadcast, Broadcast, Broadcast, Broadcast, Broadcast, Broadcast, SocketsJoin, Broadcast, ServerSideEmit}
		if len(gt.types) != len(want) {
			t.Fatalf("batch=%v: published %v", batch, gt.types)
		}
		for i := range want {
			if gt.types[i] != want[i] {
				t.Fatalf("batch=%v: published %v, want %v", batch, gt.types, want)
			}
		}
		if batch && len(gt.batches) == len(want) {
			t.Errorf("no batching: %v", gt.batches)
		}
		gt.mu.Unlock()
		if err := a.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
