package cluster

import (
	"context"
	"errors"
	"sync"

	"github.com/socketio-go/socketio/adapter"
)

// Bus connects the servers of a cluster that run in one process, for tests
// and examples: each server's adapters meet on it. Messages travel encoded
// as the official adapters encode them (JSON, MessagePack when they hold
// binary values), in order, asynchronously, like a broker's.
type Bus struct {
	mu    sync.Mutex
	nodes map[string]map[string]*busTransport // namespace -> uid -> transport
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{nodes: make(map[string]map[string]*busTransport)} }

// Factory returns the adapter.Factory of one server of the cluster.
func (b *Bus) Factory(opts Options) adapter.Factory {
	return func(nsp adapter.Namespace) adapter.Adapter {
		t := &busTransport{bus: b, nsp: nsp.Name()}
		a := New(nsp, t, opts)
		t.uid = a.UID()
		return a
	}
}

// Cut takes the server of adapter uid off the bus at once, as a crash
// would: it receives nothing more and what it sends is lost; it sends no
// goodbye.
func (b *Bus) Cut(uid string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, nodes := range b.nodes {
		if t := nodes[uid]; t != nil {
			delete(nodes, uid)
			t.cut()
		}
	}
}

var errBusClosed = errors.New("cluster: bus transport closed")

type busTransport struct {
	bus *Bus
	nsp string
	uid string

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []busItem
	closed  bool
	deliver func(*Message, string)
	done    chan struct{}
}

type busItem struct {
	m   *Message
	raw []byte
}

func (t *busTransport) Start(_ context.Context, deliver func(*Message, string)) error {
	t.mu.Lock()
	t.cond = sync.NewCond(&t.mu)
	t.deliver = deliver
	t.done = make(chan struct{})
	t.mu.Unlock()
	t.bus.mu.Lock()
	if t.bus.nodes[t.nsp] == nil {
		t.bus.nodes[t.nsp] = make(map[string]*busTransport)
	}
	t.bus.nodes[t.nsp][t.uid] = t
	t.bus.mu.Unlock()
	go t.run()
	return nil
}

func (t *busTransport) run() {
	defer close(t.done)
	for {
		t.mu.Lock()
		for len(t.queue) == 0 && !t.closed {
			t.cond.Wait()
		}
		if t.closed {
			t.mu.Unlock()
			return
		}
		it := t.queue[0]
		t.queue[0] = busItem{}
		t.queue = t.queue[1:]
		t.mu.Unlock()
		m := it.m
		if it.raw != nil {
			var err error
			if it.raw[0] == '{' {
				m, err = DecodeJSON(it.raw)
			} else {
				m, err = DecodeMsgpack(it.raw)
			}
			if err != nil {
				continue
			}
		}
		t.deliver(m, "")
	}
}

func (t *busTransport) push(it busItem) {
	t.mu.Lock()
	if !t.closed {
		t.queue = append(t.queue, it)
		t.cond.Signal()
	}
	t.mu.Unlock()
}

// item encodes m as the official adapters would: JSON, or MessagePack
// when it holds binary values.
func item(m *Message) busItem {
	if raw, err := AppendJSON(nil, m); err == nil {
		return busItem{raw: raw}
	}
	if raw, err := AppendMsgpack(nil, m); err == nil {
		return busItem{raw: raw}
	}
	c := *m
	if m.Packet != nil {
		pk := *m.Packet // the receiver gives it an ack id of its own
		c.Packet = &pk
	}
	return busItem{m: &c}
}

func (t *busTransport) peers() []*busTransport {
	t.bus.mu.Lock()
	defer t.bus.mu.Unlock()
	if t.bus.nodes[t.nsp][t.uid] != t {
		return nil // cut off
	}
	var out []*busTransport
	for _, p := range t.bus.nodes[t.nsp] {
		out = append(out, p)
	}
	return out
}

func (t *busTransport) Publish(_ context.Context, m *Message) (string, error) {
	if t.isClosed() {
		return "", errBusClosed
	}
	it := item(m)
	for _, p := range t.peers() {
		if p != t {
			p.push(it)
		}
	}
	return "", nil
}

func (t *busTransport) PublishResponse(_ context.Context, to string, m *Message) error {
	if t.isClosed() {
		return errBusClosed
	}
	it := item(m)
	for _, p := range t.peers() {
		if p.uid == to {
			p.push(it)
		}
	}
	return nil
}

func (t *busTransport) ServerCount(context.Context) (int, error) {
	t.bus.mu.Lock()
	defer t.bus.mu.Unlock()
	return len(t.bus.nodes[t.nsp]), nil
}

func (t *busTransport) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// cut stops the transport without waiting.
func (t *busTransport) cut() {
	t.mu.Lock()
	t.closed = true
	t.queue = nil
	if t.cond != nil {
		t.cond.Broadcast()
	}
	t.mu.Unlock()
}

func (t *busTransport) Close(context.Context) error {
	t.bus.mu.Lock()
	if t.bus.nodes[t.nsp][t.uid] == t {
		delete(t.bus.nodes[t.nsp], t.uid)
	}
	t.bus.mu.Unlock()
	t.cut()
	if t.done != nil {
		<-t.done
	}
	return nil
}
