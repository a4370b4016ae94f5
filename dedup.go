package socketio

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketio-go/socketio/parser"
)

// RetryDedupOptions turns on the deduplication of retried events.
//
// A client with retries (the official client's "retries" and "ackTimeout"
// options, or this module's client) sends an event again when its
// acknowledgement does not arrive in time; without deduplication the
// handler runs once per try. With it, an event that asks for an
// acknowledgement and is identical (same name, same arguments, byte for
// byte) to one the same socket sent within Window is not handled again:
// the retry gets the acknowledgement of the first try, when it is sent.
//
// Identical acknowledged events sent on purpose within Window are then
// handled once too: include something unique (an id, a sequence number) in
// such events, as the official documentation recommends for idempotency.
type RetryDedupOptions struct {
	// Window is how long an event is remembered. Zero means one minute;
	// make it longer than the clients' ackTimeout × retries.
	Window time.Duration
	// MaxEntries is how many events are remembered per socket at most (the
	// oldest is forgotten first). Zero means 64.
	MaxEntries int
}

// dedup remembers the recent acknowledged events of one socket.
type dedup struct {
	window time.Duration
	max    int
	seed   maphash.Seed
	// owner is the socket retries arrive on: with connection state
	// recovery, the state moves to the recovered socket, and a first try
	// still handled on the old one answers the retries on the new one.
	owner atomic.Pointer[Socket]

	mu      sync.Mutex
	entries []*dedupEntry // oldest first
}

type dedupEntry struct {
	key     uint64
	name    string
	args    [][]byte // to tell hash collisions apart
	at      time.Time
	acked   bool
	reply   *parser.Packet // the acknowledgement, once sent; ID unset
	waiters []int64        // ack ids of retries waiting for the reply
}

func newDedup(o *RetryDedupOptions) *dedup {
	d := &dedup{window: o.Window, max: o.MaxEntries, seed: maphash.MakeSeed()}
	if d.window == 0 {
		d.window = time.Minute
	}
	if d.max == 0 {
		d.max = 64
	}
	return d
}

func (d *dedup) key(name string, args [][]byte) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	h.WriteString(name)
	for _, a := range args {
		h.WriteByte(0)
		h.Write(a)
	}
	return h.Sum64()
}

func sameArgs(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if string(a[i]) != string(b[i]) {
			return false
		}
	}
	return true
}

// check looks e up. A new event is remembered and check returns nil: the
// caller handles it. For a retry, it returns the reply to send at once, or
// (nil, true) when the first try is still being handled: the reply will be
// sent to e's ack id by sent.
func (d *dedup) check(e *Event) (reply *parser.Packet, retry bool) {
	now := time.Now()
	k := d.key(e.name, e.args.a.Elems)
	d.mu.Lock()
	defer d.mu.Unlock()
	// Forget what is too old.
	n := 0
	for n < len(d.entries) && now.Sub(d.entries[n].at) > d.window {
		n++
	}
	if n > 0 {
		clear(d.entries[:n])
		d.entries = d.entries[n:]
	}
	for _, en := range d.entries {
		if en.key == k && en.name == e.name && sameArgs(en.args, e.args.a.Elems) {
			if en.acked {
				return en.reply, true
			}
			en.waiters = append(en.waiters, e.ackID)
			return nil, true
		}
	}
	if len(d.entries) >= d.max {
		d.entries[0] = nil
		d.entries = d.entries[1:]
	}
	en := &dedupEntry{key: k, name: e.name, args: e.args.a.Elems, at: now}
	d.entries = append(d.entries, en)
	e.dedup = en
	return nil, false
}

// sent records the acknowledgement of a remembered event and returns the
// ack ids of the retries that wait for it.
func (d *dedup) sent(en *dedupEntry, reply *parser.Packet) []int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	en.acked = true
	en.reply = reply
	w := en.waiters
	en.waiters = nil
	return w
}

// replyTo sends a copy of reply with the given ack id.
func (s *Socket) replyTo(reply *parser.Packet, id int64) {
	p := *reply
	p.ID = id
	_ = s.conn.writePacket(&p, false)
}
