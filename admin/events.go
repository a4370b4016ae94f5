package admin

import (
	"sync"
	"time"
)

// aggEvent counts the events of one kind in one second, an element of
// server_stats' aggregatedEvents.
type aggEvent struct {
	Timestamp int64  `json:"timestamp"` // Unix milliseconds, a whole second
	Type      string `json:"type"`
	SubType   string `json:"subType,omitempty"`
	Count     int    `json:"count"`
}

type aggKey struct {
	sec     int64
	typ     string
	subType string
}

// eventBuffer aggregates events per second until server_stats takes them.
type eventBuffer struct {
	mu    sync.Mutex
	order []aggKey
	m     map[aggKey]*aggEvent
}

func (b *eventBuffer) addLocked(sec int64, typ, subType string, n int) {
	k := aggKey{sec, typ, subType}
	if e := b.m[k]; e != nil {
		e.Count += n
		return
	}
	if b.m == nil {
		b.m = make(map[aggKey]*aggEvent)
	}
	b.m[k] = &aggEvent{Timestamp: sec * 1000, Type: typ, SubType: subType, Count: n}
	b.order = append(b.order, k)
}

// add counts n events of a type.
func (b *eventBuffer) add(typ, subType string, n int) {
	sec := time.Now().Unix()
	b.mu.Lock()
	b.addLocked(sec, typ, subType, n)
	b.mu.Unlock()
}

// add2 counts two types at once (packets and bytes).
func (b *eventBuffer) add2(typ1 string, n1 int, typ2 string, n2 int) {
	sec := time.Now().Unix()
	b.mu.Lock()
	b.addLocked(sec, typ1, "", n1)
	b.addLocked(sec, typ2, "", n2)
	b.mu.Unlock()
}

// take returns the aggregated events, oldest first, and empties the
// buffer.
func (b *eventBuffer) take() []aggEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]aggEvent, 0, len(b.order))
	for _, k := range b.order {
		out = append(out, *b.m[k])
	}
	clear(b.m)
	b.order = b.order[:0]
	return out
}
