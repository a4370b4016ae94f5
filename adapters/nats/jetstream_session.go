package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/msgpack"
	"github.com/socketio-go/socketio/parser"
)

// Connection state recovery of the JetStream adapter.
//
// Sessions are kept in a key-value bucket rather than a stream of their
// own: a session is read and taken by its key (the private session id), at
// most one server may take it (a delete conditioned on the revision read),
// and only its latest version matters (history 1). The bucket's TTL bounds
// how long a session is kept: MaxDisconnectionDuration plus two refresh
// intervals; the session of a connected socket is written again every
// refresh interval (a quarter of MaxDisconnectionDuration) while its server
// lives, and a kept session also records when it expires.
//
// Keys, under "<nsp token>." (see Token):
//
//	k.<pid token>  the session kept at a socket's disconnection
//	l.<pid token>  the session of a connected socket, with its server's uid
//
// Values are MessagePack maps {sid, pid, rooms, data, since, owner,
// expires}: data may hold binary values.

// restoreReadCount is the page size of the reads of missed packets.
const restoreReadCount = 512

// liveSession is a connected socket's session, as kept in the bucket.
type liveSession struct {
	pid   string
	since uint64
	data  any
	dirty bool
}

// localState is what a kept session holds for this server only.
type localState struct {
	local   any
	expires time.Time
}

// storedSession is the stored form of a session.
type storedSession struct {
	SID     string          `json:"sid"`
	PID     string          `json:"pid"`
	Rooms   []string        `json:"rooms"`
	Data    json.RawMessage `json:"data"`
	Since   uint64          `json:"since"`
	Owner   string          `json:"owner,omitempty"`
	Expires int64           `json:"expires,omitempty"` // Unix ms; kept sessions
}

func (a *JetStreamAdapter) key(kind, pid string) string {
	return Token(a.nsp.Name()) + "." + kind + "." + Token(pid)
}

func appendString(dst []byte, s string) []byte {
	dst, _ = parser.AppendValue(dst, s, nil)
	return dst
}

// encodeSession returns the stored form of a session.
func encodeSession(pid, sid string, rooms []string, data any, since uint64, owner string, expires time.Time) ([]byte, error) {
	var atts [][]byte
	text := []byte(`{"sid":`)
	text = appendString(text, sid)
	text = append(text, `,"pid":`...)
	text = appendString(text, pid)
	text = append(text, `,"rooms":`...)
	if rooms == nil {
		rooms = []string{}
	}
	text, _ = parser.AppendValue(text, rooms, nil)
	text = append(text, `,"data":`...)
	if data == nil {
		text = append(text, "null"...)
	} else {
		var err error
		if text, err = parser.AppendValue(text, data, &atts); err != nil {
			return nil, fmt.Errorf("nats: session data: %w", err)
		}
	}
	text = append(text, `,"since":`...)
	text = strconv.AppendUint(text, since, 10)
	if owner != "" {
		text = append(text, `,"owner":`...)
		text = appendString(text, owner)
	}
	if !expires.IsZero() {
		text = append(text, `,"expires":`...)
		text = strconv.AppendInt(text, expires.UnixMilli(), 10)
	}
	text = append(text, '}')
	b, err := msgpack.FromJSON(nil, text, atts)
	if err != nil {
		return nil, fmt.Errorf("nats: session: %w", err)
	}
	return b, nil
}

// decodeSession reads a stored session (untrusted: any server, or anyone
// with access to the bucket, may have written it); its data as
// JSON-decoded values ([]byte for binary ones).
func decodeSession(b []byte) (*storedSession, any, error) {
	var atts [][]byte
	text, rest, err := msgpack.ToJSON(nil, b, &atts)
	if err != nil || len(rest) > 0 {
		return nil, nil, fmt.Errorf("nats: stored session: not MessagePack: %v", err)
	}
	var s storedSession
	if err := json.Unmarshal(text, &s); err != nil {
		return nil, nil, fmt.Errorf("nats: stored session: %w", err)
	}
	if s.SID == "" || s.PID == "" {
		return nil, nil, errors.New("nats: stored session without sid or pid")
	}
	var data any
	if len(s.Data) > 0 && string(s.Data) != "null" {
		if err := parser.DecodeValue(s.Data, atts, &data); err != nil {
			return nil, nil, fmt.Errorf("nats: stored session data: %w", err)
		}
	}
	return &s, data, nil
}

// PersistSession keeps the session of a socket that disconnected, in the
// bucket, for MaxDisconnectionDuration.
func (a *JetStreamAdapter) PersistSession(s *adapter.Session) {
	mdd := a.recovery()
	kv := a.sessions()
	if mdd <= 0 || kv == nil {
		return
	}
	since, _ := strconv.ParseUint(s.Since, 10, 64)
	a.smu.Lock()
	delete(a.live, s.SID)
	if s.Local != nil {
		a.local[s.PID] = localState{local: s.Local, expires: time.Now().Add(mdd)}
	}
	a.smu.Unlock()
	val, err := encodeSession(s.PID, s.SID, s.Rooms, s.Data, since, "", time.Now().Add(mdd))
	if err != nil {
		a.logger.Warn("nats: session not kept", "sid", s.SID, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	// The kept session first: a server that finds neither would not
	// recover the client.
	if _, err := kv.Put(ctx, a.key("k", s.PID), val); err != nil {
		a.logger.Warn("nats: session not kept", "sid", s.SID, "err", err)
		return
	}
	if err := kv.Purge(ctx, a.key("l", s.PID)); err != nil {
		a.logger.Warn("nats: session of a connected socket not deleted", "sid", s.SID, "err", err)
	}
}

// DropSession forgets the session of a socket that left for good.
func (a *JetStreamAdapter) DropSession(sid adapter.SocketID, pid string) {
	a.smu.Lock()
	_, wasLive := a.live[sid]
	delete(a.live, sid)
	delete(a.local, pid)
	a.smu.Unlock()
	kv := a.sessions()
	if !wasLive || kv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a.flushMu.Lock()
	err := kv.Purge(ctx, a.key("l", pid))
	a.flushMu.Unlock()
	if err != nil {
		a.logger.Warn("nats: session not deleted", "sid", sid, "err", err)
	}
}

// UpdateSessionData records the data of a connected socket.
func (a *JetStreamAdapter) UpdateSessionData(sid adapter.SocketID, data any) {
	a.smu.Lock()
	if l := a.live[sid]; l != nil {
		l.data, l.dirty = data, true
	}
	a.smu.Unlock()
}

// take reads key and deletes it, unless another server deleted or
// rewrote it meanwhile: nil when there is nothing to take.
func take(ctx context.Context, kv jetstream.KeyValue, key string) ([]byte, error) {
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("nats: reading session: %w", err)
	}
	if err := kv.Purge(ctx, key, jetstream.LastRevision(e.Revision())); err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return nil, nil // another server took it first
		}
		return nil, fmt.Errorf("nats: taking session: %w", err)
	}
	return e.Value(), nil
}

// RestoreSession takes the session pid out of the bucket: the one kept at
// its socket's disconnection, or, if its server died or still holds a
// half-open connection, the one of the connected socket. It checks that the
// packets after offset (or after the session's first entry when offset is
// empty or older) are still in the stream.
func (a *JetStreamAdapter) RestoreSession(ctx context.Context, pid, offset string) (*adapter.Session, error) {
	kv := a.sessions()
	if a.recovery() <= 0 || kv == nil {
		return nil, nil
	}
	var off uint64
	if offset != "" {
		var err error
		if off, err = strconv.ParseUint(offset, 10, 64); err != nil {
			return nil, nil
		}
	}
	raw, err := take(ctx, kv, a.key("k", pid))
	if err != nil {
		return nil, err
	}
	if raw == nil {
		if raw, err = a.takeLive(ctx, kv, pid); err != nil {
			return nil, err
		}
	}
	if raw == nil {
		// Its server may have kept the session between the two reads
		// (PersistSession writes the kept session, then deletes the live
		// one): read the kept one again.
		if raw, err = take(ctx, kv, a.key("k", pid)); raw == nil || err != nil {
			return nil, err
		}
	}
	st, data, err := decodeSession(raw)
	if err != nil {
		return nil, err
	}
	if st.PID != pid || (st.Expires != 0 && time.Now().UnixMilli() > st.Expires) {
		return nil, nil
	}
	start := off
	if offset == "" || start < st.Since {
		start = st.Since
	}
	if ok, err := a.kept(ctx, start); !ok || err != nil {
		return nil, err
	}
	s := &adapter.Session{PID: pid, SID: st.SID, Rooms: st.Rooms, Data: data, Since: strconv.FormatUint(st.Since, 10), Offset: strconv.FormatUint(start, 10)}
	a.smu.Lock()
	if l, ok := a.local[pid]; ok {
		s.Local = l.local
		delete(a.local, pid)
	}
	a.smu.Unlock()
	return s, nil
}

// takeLive takes the session of a connected socket of another server: at
// once if that server is gone, else once it closed the socket's old
// connection and kept its session.
func (a *JetStreamAdapter) takeLive(ctx context.Context, kv jetstream.KeyValue, pid string) ([]byte, error) {
	e, err := kv.Get(ctx, a.key("l", pid))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("nats: reading live session: %w", err)
	}
	st, _, err := decodeSession(e.Value())
	if err != nil {
		return nil, err
	}
	if st.Owner == "" || st.Owner == a.UID() || !validUID(st.Owner) {
		return nil, nil
	}
	if a.t.core.alive(ctx, st.Owner) {
		// Its server still holds the old connection (a half-open one):
		// it closes it and keeps the session.
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := a.t.core.takeover(tctx, st.Owner, pid)
		cancel()
		if err != nil {
			a.logger.Warn("nats: the server of the session to recover did not hand it over", "sid", st.SID, "server", st.Owner, "err", err)
			return nil, nil
		}
		return take(ctx, kv, a.key("k", pid))
	}
	return take(ctx, kv, a.key("l", pid))
}

// kept reports whether every entry after seq is still in the stream.
func (a *JetStreamAdapter) kept(ctx context.Context, seq uint64) (bool, error) {
	info, err := a.t.stream.Info(ctx)
	if err != nil {
		return false, fmt.Errorf("nats: stream info: %w", err)
	}
	st := info.State
	return seq <= st.LastSeq && seq+1 >= st.FirstSeq, nil
}

// Attach makes a socket live: a new one starts after the last entry read;
// a recovered one gets the recoverable packets of the stream after its
// offset sent to its rooms, the last of them read with the delivery of
// entries stopped.
func (a *JetStreamAdapter) Attach(ctx context.Context, s *adapter.Session, attach func(missed []*parser.Packet)) error {
	if s.Offset == "" && s.Since == "" {
		a.deliverMu.Lock()
		s.Since = strconv.FormatUint(a.lastSeq, 10)
		attach(nil)
		a.deliverMu.Unlock()
		a.goLive(ctx, s)
		return nil
	}
	fromS := s.Offset
	if fromS == "" {
		fromS = s.Since
	}
	from, err := strconv.ParseUint(fromS, 10, 64)
	if err != nil {
		return adapter.ErrSessionGone
	}
	first := from
	a.deliverMu.Lock()
	upto := a.lastSeq
	a.deliverMu.Unlock()
	var missed []*parser.Packet
	if upto > from {
		if missed, from, err = a.collect(ctx, s.Rooms, from, upto, missed); err != nil {
			return err
		}
	}
	a.deliverMu.Lock()
	// The client may hold entries this server has not read yet: they must
	// not reach it twice.
	for a.lastSeq < from {
		if err := a.waitRead(ctx); err != nil {
			a.deliverMu.Unlock()
			return err
		}
	}
	if a.lastSeq > from {
		if missed, _, err = a.collect(ctx, s.Rooms, from, a.lastSeq, missed); err != nil {
			a.deliverMu.Unlock()
			return err
		}
	}
	// The stream discards its oldest entries first: if the first one
	// after the offset is still there, none was discarded before it was
	// read, and the client misses nothing.
	if len(missed) > 0 || a.lastSeq > first {
		if ok, err := a.kept(ctx, first); err != nil || !ok {
			a.deliverMu.Unlock()
			if err != nil {
				return err
			}
			return adapter.ErrSessionGone
		}
	}
	attach(missed)
	a.deliverMu.Unlock()
	a.goLive(ctx, s)
	return nil
}

// waitRead waits, deliverMu held, for the reader to deliver more entries.
func (a *JetStreamAdapter) waitRead(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if a.t.ctx.Err() != nil {
		return adapter.ErrClosed
	}
	stop := context.AfterFunc(ctx, func() {
		a.deliverMu.Lock()
		a.readCond.Broadcast()
		a.deliverMu.Unlock()
	})
	a.readCond.Wait()
	stop()
	if a.t.ctx.Err() != nil {
		return adapter.ErrClosed
	}
	return ctx.Err()
}

// collect appends the recoverable packets of the entries in (from, upto]
// meant for a socket in rooms, and returns the last sequence read.
func (a *JetStreamAdapter) collect(ctx context.Context, rooms []string, from, upto uint64, out []*parser.Packet) ([]*parser.Packet, uint64, error) {
	in := make(map[string]bool, len(rooms))
	for _, r := range rooms {
		in[r] = true
	}
	cons, err := a.t.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{a.t.core.subj.log},
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       from + 1,
		InactiveThreshold: 30 * time.Second,
	})
	if err != nil {
		return out, from, fmt.Errorf("nats: reading missed packets: %w", err)
	}
	for from < upto {
		batch, err := cons.Fetch(restoreReadCount, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return out, from, fmt.Errorf("nats: reading missed packets: %w", err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			meta, err := msg.Metadata()
			if err != nil || meta.Sequence.Stream > upto {
				continue
			}
			from = meta.Sequence.Stream
			m, err := a.t.core.decode(msg.Data())
			if err != nil || m.Packet == nil || m.RequestID != "" || !adapter.Recoverable(m.Packet, m.Opts) || !meantFor(in, m.Opts) {
				continue
			}
			m.Packet.Data = adapter.AppendOffset(m.Packet.Data, strconv.FormatUint(from, 10))
			out = append(out, m.Packet)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return out, from, fmt.Errorf("nats: reading missed packets: %w", err)
		}
		if n == 0 {
			break // nothing more: the rest was trimmed
		}
	}
	return out, from, nil
}

// meantFor reports whether a broadcast with opts reaches a socket in rooms.
func meantFor(rooms map[string]bool, opts adapter.BroadcastOptions) bool {
	for _, r := range opts.Except {
		if rooms[r] {
			return false
		}
	}
	if len(opts.Rooms) == 0 {
		return true
	}
	for _, r := range opts.Rooms {
		if rooms[r] {
			return true
		}
	}
	return false
}

// goLive starts keeping the session of a connected socket in the bucket,
// where it is written at once: until then, a client that comes back on
// another server would find no session.
func (a *JetStreamAdapter) goLive(ctx context.Context, s *adapter.Session) {
	if a.sessions() == nil {
		return
	}
	since, _ := strconv.ParseUint(s.Since, 10, 64)
	a.smu.Lock()
	a.live[s.SID] = &liveSession{pid: s.PID, since: since, data: s.Data, dirty: true}
	a.smu.Unlock()
	a.flushSessions(ctx, false, []adapter.SocketID{s.SID})
}

// flushLoop writes the sessions of connected sockets that changed, and
// keeps them from expiring, until ctx ends.
func (a *JetStreamAdapter) flushLoop(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	tick := time.NewTicker(a.t.opts.SessionFlushInterval)
	defer tick.Stop()
	lastRefresh := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		mdd := a.recovery()
		if mdd <= 0 || a.sessions() == nil {
			continue
		}
		all := time.Since(lastRefresh) >= refreshInterval(mdd)
		if all {
			lastRefresh = time.Now()
		}
		a.flushSessions(ctx, all, nil)
	}
}

// flushSessions writes the live sessions of only, or the changed ones
// (all of them with all) when only is nil.
func (a *JetStreamAdapter) flushSessions(ctx context.Context, all bool, only []adapter.SocketID) {
	kv := a.sessions()
	if kv == nil {
		return
	}
	type write struct {
		sid adapter.SocketID
		pid string
		val []byte
	}
	var writes []write
	a.smu.Lock()
	now := time.Now()
	for pid, l := range a.local {
		if now.After(l.expires) {
			delete(a.local, pid)
		}
	}
	sids := only
	if only == nil {
		for sid, l := range a.live {
			if l.dirty || all {
				sids = append(sids, sid)
			}
		}
	}
	a.smu.Unlock()
	for _, sid := range sids {
		rooms := a.SocketRooms(sid)
		a.smu.Lock()
		l := a.live[sid]
		if l == nil {
			a.smu.Unlock()
			continue
		}
		l.dirty = false
		pid, since, data := l.pid, l.since, l.data
		a.smu.Unlock()
		val, err := encodeSession(pid, sid, rooms, data, since, a.UID(), time.Time{})
		if err != nil {
			a.logger.Warn("nats: session of a connected socket not kept", "sid", sid, "err", err)
			continue
		}
		writes = append(writes, write{sid: sid, pid: pid, val: val})
	}
	if len(writes) == 0 {
		return
	}
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	// Written together (asynchronous publishes to the bucket's subjects,
	// then their acknowledgements): a refresh of thousands of sessions
	// takes about one round trip, not one per session, and holds up the
	// sessions of disconnecting sockets (flushMu) no longer.
	type pending struct {
		w   write
		ack jetstream.PubAckFuture
	}
	var sent []pending
	var failed []write
	for _, w := range writes {
		// A socket that disconnected meanwhile has its session deleted
		// or replaced: it must not come back.
		a.smu.Lock()
		l := a.live[w.sid]
		still := l != nil && l.pid == w.pid
		a.smu.Unlock()
		if !still {
			continue
		}
		f, err := a.t.js.PublishAsync("$KV."+kv.Bucket()+"."+a.key("l", w.pid), w.val)
		if err != nil {
			failed = append(failed, w)
			continue
		}
		sent = append(sent, pending{w, f})
	}
wait:
	for i, p := range sent {
		select {
		case <-p.ack.Ok():
		case <-p.ack.Err():
			failed = append(failed, p.w)
		case <-ctx.Done():
			// Not known to be written: written again at the next flush.
			for _, q := range sent[i:] {
				failed = append(failed, q.w)
			}
			break wait
		}
	}
	if len(failed) > 0 {
		if ctx.Err() == nil {
			a.logger.Warn("nats: sessions of connected sockets not kept, retrying", "count", len(failed))
		}
		a.smu.Lock()
		for _, w := range failed {
			if l := a.live[w.sid]; l != nil && l.pid == w.pid {
				l.dirty = true
			}
		}
		a.smu.Unlock()
	}
}

var _ adapter.LiveSessionStore = (*JetStreamAdapter)(nil)
var _ adapter.RecoveryConfigurer = (*JetStreamAdapter)(nil)
