package adapter

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/socketio-go/socketio/parser"
)

// Defaults of SessionOptions.
const (
	DefaultMaxDisconnectionDuration = 2 * time.Minute
	DefaultMaxStoredBytes           = 64 << 20
	DefaultMaxSessions              = 100_000
)

// StoredPacketOverhead is the memory a stored packet costs beyond its
// payload and attachments (its record and its place in the indexes), in
// bytes, plus StoredRoomOverhead per room it was sent to or excluded. Both
// count towards SessionOptions.MaxBytes.
const (
	StoredPacketOverhead = 168
	StoredRoomOverhead   = 24
	storedExtrasOverhead = 64 // attachments or excluded rooms
)

// SessionOptions configure the connection state recovery of a
// [SessionAware] adapter.
type SessionOptions struct {
	// MaxDisconnectionDuration is how long the session of a disconnected
	// socket is kept. Zero means 2 minutes.
	MaxDisconnectionDuration time.Duration
	// Retention is how long a packet is stored. It should exceed
	// MaxDisconnectionDuration by the time a dead connection can go
	// unnoticed (ping interval plus ping timeout), since a client may have
	// missed packets sent before its disconnection was detected. Zero
	// means MaxDisconnectionDuration plus 45s (the default heartbeat).
	Retention time.Duration
	// MaxBytes bounds the memory of the stored packets: payload and
	// attachments, plus StoredPacketOverhead and StoredRoomOverhead. The
	// oldest packets are dropped first; a client that missed a dropped
	// packet is not recovered. Zero means 64 MiB.
	MaxBytes int64
	// MaxSessions bounds the number of sessions kept; the oldest are
	// dropped first. Zero means 100,000.
	MaxSessions int
}

// SessionAware is the in-memory adapter with connection state recovery,
// the equivalent of the official server's SessionAwareAdapter: it stores
// the recoverable packets it broadcasts for SessionOptions.Retention, within
// SessionOptions.MaxBytes, and the sessions of disconnected sockets. It
// implements [SessionStore].
//
// Offsets are "<tag>.<n>": a random tag of the adapter instance and a
// sequence number in base 36, so an offset that was never issued (another
// server's, a string an application sent) is recognised. Every packet is
// indexed by the rooms it was sent to, so a reconnecting client costs work
// in proportion to the packets sent to its rooms since its offset, not to
// everything stored.
type SessionAware struct {
	*InMemory
	opts SessionOptions
	now  func() time.Time // time.Now; replaced in tests

	// lmu serialises the recoverable broadcasts (offset, store, delivery)
	// and Attach: every socket receives stored packets in offset order.
	lmu     sync.Mutex
	tag     string
	seq     uint64 // the last offset issued
	entries fifo[*storedPacket]
	all     fifo[*storedPacket] // packets sent to every socket
	byRoom  map[Room]*fifo[*storedPacket]
	bytes   int64

	smu      sync.Mutex
	sessions map[string]*keptSession
	order    fifo[*keptSession] // by persist time; restored ones stay until they reach the front

	tmu      sync.Mutex
	timer    *time.Timer
	armed    bool
	closed   bool
	sweeping sync.WaitGroup
}

// storedPacket is a stored event: what it takes to send it again and to
// tell which sockets it was for. It is kept small: there may be hundreds of
// thousands.
type storedPacket struct {
	seq   uint64
	at    int64 // a.now() in nanoseconds since the Unix epoch
	data  []byte
	rooms []Room        // unique; empty: every socket
	more  *storedExtras // nil for most events
}

// storedExtras are the rarely used parts of a stored event.
type storedExtras struct {
	atts   [][]byte
	except []Room
}

// size is what e counts against MaxBytes.
func (e *storedPacket) size() int64 {
	n := StoredPacketOverhead + int64(len(e.data)) + StoredRoomOverhead*int64(len(e.rooms))
	if e.more != nil {
		n += storedExtrasOverhead + StoredRoomOverhead*int64(len(e.more.except))
		for _, b := range e.more.atts {
			n += int64(len(b))
		}
	}
	return n
}

func (e *storedPacket) except() []Room {
	if e.more == nil {
		return nil
	}
	return e.more.except
}

// packet rebuilds the event to send it again.
func (e *storedPacket) packet(nsp string) *parser.Packet {
	p := &parser.Packet{Type: parser.Event, Namespace: nsp, ID: parser.NoID, Data: e.data}
	if e.more != nil {
		p.Attachments = e.more.atts
	}
	return p
}

type keptSession struct {
	s  *Session
	at time.Time
}

// NewSessionAware returns a Factory of SessionAware adapters.
func NewSessionAware(opts SessionOptions) Factory {
	return func(nsp Namespace) Adapter { return NewSessionAwareAdapter(nsp, opts) }
}

// NewSessionAwareAdapter returns the SessionAware adapter of nsp.
func NewSessionAwareAdapter(nsp Namespace, opts SessionOptions) *SessionAware {
	if opts.MaxDisconnectionDuration <= 0 {
		opts.MaxDisconnectionDuration = DefaultMaxDisconnectionDuration
	}
	if opts.Retention <= 0 {
		opts.Retention = opts.MaxDisconnectionDuration + 45*time.Second
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxStoredBytes
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = DefaultMaxSessions
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &SessionAware{
		InMemory: NewInMemoryAdapter(nsp),
		opts:     opts,
		now:      time.Now,
		tag:      base64.RawURLEncoding.EncodeToString(b[:]),
		byRoom:   make(map[Room]*fifo[*storedPacket]),
		sessions: make(map[string]*keptSession),
	}
}

// Close stops the adapter's expiry timer. Stored packets and sessions stay
// readable.
func (a *SessionAware) Close(context.Context) error {
	a.tmu.Lock()
	a.closed = true
	if a.timer != nil {
		a.timer.Stop()
	}
	a.tmu.Unlock()
	a.sweeping.Wait()
	return nil
}

// Recoverable reports whether a session store keeps p, broadcast with opts:
// an EVENT without an ack id that is not volatile, as in the official
// server.
func Recoverable(p *parser.Packet, opts BroadcastOptions) bool {
	return (p.Type == parser.Event || p.Type == parser.BinaryEvent) && p.ID == parser.NoID && !opts.Flags.Volatile
}

// Broadcast stores p if it is recoverable, with its offset appended to its
// arguments, then delivers it to the local sockets selected by opts.
func (a *SessionAware) Broadcast(p *parser.Packet, opts BroadcastOptions) error {
	if !Recoverable(p, opts) {
		return a.InMemory.Broadcast(p, opts)
	}
	a.lmu.Lock()
	first := a.storeLocked(p, opts)
	err := a.InMemory.Broadcast(p, opts)
	a.lmu.Unlock()
	if first {
		a.arm()
	}
	return err
}

func (a *SessionAware) offset(seq uint64) string {
	return a.tag + "." + strconv.FormatUint(seq, 36)
}

// parseOffset returns the sequence number of an offset this adapter issued.
func (a *SessionAware) parseOffset(off string) (uint64, bool) {
	rest, ok := strings.CutPrefix(off, a.tag+".")
	if !ok {
		return 0, false
	}
	seq, err := strconv.ParseUint(rest, 36, 64)
	if err != nil || strconv.FormatUint(seq, 36) != rest {
		return 0, false // not in the form this adapter writes
	}
	return seq, true
}

// AppendOffset returns the JSON array data with the string off appended as
// its last element.
func AppendOffset(data []byte, off string) []byte {
	end := len(data) - 1
	for end >= 0 && data[end] != ']' {
		end--
	}
	if end < 0 {
		return data // not an array: the namespace never builds one
	}
	prev := end - 1
	for prev >= 0 && (data[prev] == ' ' || data[prev] == '\t' || data[prev] == '\n' || data[prev] == '\r') {
		prev--
	}
	out := make([]byte, 0, end+len(off)+4)
	out = append(out, data[:end]...)
	if prev >= 0 && data[prev] != '[' {
		out = append(out, ',')
	}
	out = append(out, '"')
	out = append(out, off...) // offsets need no escaping
	return append(out, '"', ']')
}

// storeLocked gives p its offset and stores it. a.lmu must be held. It
// reports whether p is the only stored packet: the expiry timer must then
// be armed, once a.lmu is released.
func (a *SessionAware) storeLocked(p *parser.Packet, opts BroadcastOptions) (first bool) {
	a.seq++
	p.Data = AppendOffset(p.Data, a.offset(a.seq))
	if len(p.Attachments) > 0 {
		// The packet outlives the call: keep attachments the caller may
		// reuse. One copy for every recipient and the store.
		atts := make([][]byte, len(p.Attachments))
		for i, b := range p.Attachments {
			atts[i] = slices.Clone(b)
		}
		p.Attachments = atts
	}
	e := &storedPacket{seq: a.seq, at: a.now().UnixNano(), data: p.Data, rooms: opts.Rooms}
	if len(p.Attachments) > 0 || len(opts.Except) > 0 {
		e.more = &storedExtras{atts: p.Attachments, except: opts.Except}
	}
	// The operator's room lists are not modified after a broadcast: keep
	// them, unless a room is repeated.
	for i, r := range opts.Rooms {
		if slices.Contains(opts.Rooms[:i], r) {
			e.rooms = nil
			for _, r := range opts.Rooms {
				if !slices.Contains(e.rooms, r) {
					e.rooms = append(e.rooms, r)
				}
			}
			break
		}
	}
	a.entries.push(e)
	if len(e.rooms) == 0 {
		a.all.push(e)
	} else {
		for _, r := range e.rooms {
			f := a.byRoom[r]
			if f == nil {
				f = new(fifo[*storedPacket])
				a.byRoom[r] = f
			}
			f.push(e)
		}
	}
	a.bytes += e.size()
	a.evictLocked(e.at)
	return a.entries.len() == 1
}

// evictLocked drops the packets older than the retention and, oldest first,
// those over the byte limit.
func (a *SessionAware) evictLocked(now int64) {
	for a.entries.len() > 0 {
		e := a.entries.front()
		if a.bytes <= a.opts.MaxBytes && time.Duration(now-e.at) < a.opts.Retention {
			return
		}
		a.entries.pop()
		a.bytes -= e.size()
		if len(e.rooms) == 0 {
			if a.all.len() > 0 && a.all.front() == e {
				a.all.pop()
			}
			continue
		}
		for _, r := range e.rooms {
			f := a.byRoom[r]
			if f != nil && f.len() > 0 && f.front() == e {
				f.pop()
				if f.len() == 0 {
					delete(a.byRoom, r)
				}
			}
		}
	}
}

// firstLocked returns the offset of the oldest stored packet, or the next
// one when none is stored.
func (a *SessionAware) firstLocked() uint64 {
	if a.entries.len() == 0 {
		return a.seq + 1
	}
	return a.entries.front().seq
}

// PersistSession keeps s for MaxDisconnectionDuration.
func (a *SessionAware) PersistSession(s *Session) {
	k := &keptSession{s: s, at: a.now()}
	a.smu.Lock()
	a.sessions[s.PID] = k
	a.order.push(k)
	for len(a.sessions) > a.opts.MaxSessions && a.order.len() > 0 {
		old := a.order.front()
		a.order.pop()
		if a.sessions[old.s.PID] == old {
			delete(a.sessions, old.s.PID)
		}
	}
	first := a.order.len() == 1
	a.smu.Unlock()
	if first {
		a.arm()
	}
}

// RestoreSession takes the session pid out of the store if it can be
// recovered from offset. See SessionStore.
func (a *SessionAware) RestoreSession(_ context.Context, pid, offset string) (*Session, error) {
	now := a.now()
	a.smu.Lock()
	k := a.sessions[pid]
	if k != nil && now.Sub(k.at) >= a.opts.MaxDisconnectionDuration {
		delete(a.sessions, pid)
		k = nil
	}
	a.smu.Unlock()
	if k == nil {
		return nil, nil
	}
	since, ok := a.parseOffset(k.s.Since)
	if !ok {
		return nil, nil
	}
	from := since
	a.lmu.Lock()
	if offset != "" {
		seq, ok := a.parseOffset(offset)
		if !ok || seq > a.seq {
			a.lmu.Unlock()
			return nil, nil // never issued
		}
		from = max(seq, since)
	}
	tooOld := from+1 < a.firstLocked()
	a.lmu.Unlock()
	if tooOld {
		return nil, nil
	}
	a.smu.Lock()
	taken := a.sessions[pid] == k
	if taken {
		delete(a.sessions, pid)
	}
	a.smu.Unlock()
	if !taken {
		return nil, nil // restored concurrently
	}
	s := *k.s
	s.Offset = a.offset(from)
	return &s, nil
}

// Attach calls attach with the packets s missed, with no recoverable
// broadcast in progress. See SessionStore.
func (a *SessionAware) Attach(_ context.Context, s *Session, attach func(missed []*parser.Packet)) error {
	a.lmu.Lock()
	defer a.lmu.Unlock()
	if s.Since == "" {
		s.Since = a.offset(a.seq)
	}
	var missed []*parser.Packet
	if s.Offset != "" {
		from, ok := a.parseOffset(s.Offset)
		if !ok || from+1 < a.firstLocked() {
			return ErrSessionGone
		}
		missed = a.missedLocked(s.Rooms, from)
	}
	attach(missed)
	return nil
}

// missedLocked returns the stored packets after offset from that a socket
// in rooms was meant to receive, in order.
func (a *SessionAware) missedLocked(rooms []Room, from uint64) []*parser.Packet {
	var cands []*storedPacket
	add := func(f *fifo[*storedPacket]) {
		items := f.items()
		i, _ := slices.BinarySearchFunc(items, from+1, func(e *storedPacket, seq uint64) int {
			switch {
			case e.seq < seq:
				return -1
			case e.seq > seq:
				return 1
			}
			return 0
		})
		cands = append(cands, items[i:]...)
	}
	add(&a.all)
	seen := make(map[Room]bool, len(rooms))
	for _, r := range rooms {
		if seen[r] {
			continue
		}
		seen[r] = true
		if f := a.byRoom[r]; f != nil {
			add(f)
		}
	}
	slices.SortFunc(cands, func(x, y *storedPacket) int {
		switch {
		case x.seq < y.seq:
			return -1
		case x.seq > y.seq:
			return 1
		}
		return 0
	})
	cands = slices.Compact(cands)
	out := make([]*parser.Packet, 0, len(cands))
	for _, e := range cands {
		excluded := false
		for _, r := range e.except() {
			if seen[r] {
				excluded = true
				break
			}
		}
		if !excluded {
			out = append(out, e.packet(a.nsp.Name()))
		}
	}
	return out
}

// Stored reports the number of stored packets and their size as counted
// against MaxBytes.
func (a *SessionAware) Stored() (packets int, bytes int64) {
	a.lmu.Lock()
	defer a.lmu.Unlock()
	return a.entries.len(), a.bytes
}

// SessionCount reports the number of sessions kept.
func (a *SessionAware) SessionCount() int {
	a.smu.Lock()
	defer a.smu.Unlock()
	return len(a.sessions)
}

// arm schedules the next expiry sweep, unless one is scheduled.
func (a *SessionAware) arm() {
	a.tmu.Lock()
	defer a.tmu.Unlock()
	if a.closed || a.armed {
		return
	}
	d, ok := a.nextExpiry()
	if !ok {
		return
	}
	a.armed = true
	if a.timer == nil {
		a.timer = time.AfterFunc(d, a.sweep)
	} else {
		a.timer.Reset(d)
	}
}

// nextExpiry returns the delay until the oldest packet or session expires.
func (a *SessionAware) nextExpiry() (time.Duration, bool) {
	now := a.now()
	var due time.Time
	a.lmu.Lock()
	if a.entries.len() > 0 {
		due = time.Unix(0, a.entries.front().at).Add(a.opts.Retention)
	}
	a.lmu.Unlock()
	a.smu.Lock()
	if a.order.len() > 0 {
		if d := a.order.front().at.Add(a.opts.MaxDisconnectionDuration); due.IsZero() || d.Before(due) {
			due = d
		}
	}
	a.smu.Unlock()
	if due.IsZero() {
		return 0, false
	}
	// A little late rather than early: one sweep per expiry.
	return max(due.Sub(now), 0) + 10*time.Millisecond, true
}

func (a *SessionAware) sweep() {
	a.tmu.Lock()
	if a.closed {
		a.tmu.Unlock()
		return
	}
	a.armed = false
	a.sweeping.Add(1)
	a.tmu.Unlock()
	defer a.sweeping.Done()

	now := a.now()
	a.lmu.Lock()
	a.evictLocked(now.UnixNano())
	a.lmu.Unlock()
	a.smu.Lock()
	for a.order.len() > 0 {
		k := a.order.front()
		if a.sessions[k.s.PID] == k && now.Sub(k.at) < a.opts.MaxDisconnectionDuration {
			break
		}
		a.order.pop()
		if a.sessions[k.s.PID] == k {
			delete(a.sessions, k.s.PID)
		}
	}
	a.smu.Unlock()
	a.arm()
}

// fifo is a queue on a slice.
type fifo[T any] struct {
	buf  []T
	head int
}

func (f *fifo[T]) push(v T)   { f.buf = append(f.buf, v) }
func (f *fifo[T]) len() int   { return len(f.buf) - f.head }
func (f *fifo[T]) front() T   { return f.buf[f.head] }
func (f *fifo[T]) items() []T { return f.buf[f.head:] }

func (f *fifo[T]) pop() {
	var zero T
	f.buf[f.head] = zero
	f.head++
	switch {
	case f.head == len(f.buf):
		f.buf, f.head = f.buf[:0], 0
	case f.head >= 32 && f.head*2 >= len(f.buf):
		n := copy(f.buf, f.buf[f.head:])
		clear(f.buf[n:])
		f.buf, f.head = f.buf[:n], 0
	}
}
