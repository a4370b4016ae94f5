package redis

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/msgpack"
	"github.com/socketio-go/socketio/parser"
)

// Connection state recovery of the Streams adapter.
//
// A session kept at a socket's disconnection is stored as the official
// adapter stores it: "<SessionKeyPrefix><pid>" holds the base64 of the
// MessagePack object {sid, pid, rooms, data}, for MaxDisconnectionDuration;
// this adapter adds "since" (the last entry read when the socket first
// connected, for a client that received nothing). The session of a
// connected socket is kept under "<SessionKeyPrefix>live:<pid>" with the
// adapter uid of its server ("owner"): another server takes it only when
// that server is gone (no subscriber left on its private channel).

// restoreReadCount is the page size of the XRANGE reads of missed packets.
const restoreReadCount = 1000

var offsetPattern = regexp.MustCompile(`^[0-9]+-[0-9]+$`)

// storedSession is the wire form of a kept session.
type storedSession struct {
	SID   string          `json:"sid"`
	PID   string          `json:"pid"`
	Rooms []string        `json:"rooms"`
	Data  json.RawMessage `json:"data"`
	Since string          `json:"since,omitempty"`
	Owner string          `json:"owner,omitempty"`
}

func (a *StreamsAdapter) sessionKey(pid string) string { return a.t.opts.SessionKeyPrefix + pid }
func (a *StreamsAdapter) liveKey(pid string) string {
	return a.t.opts.SessionKeyPrefix + "live:" + pid
}

// encodeSession returns the stored form of a session: base64 of
// MessagePack.
func encodeSession(pid, sid string, rooms []string, data any, since, owner string) (string, error) {
	var atts [][]byte
	text := []byte(`{"sid":`)
	text = appendStr(text, sid)
	text = append(text, `,"pid":`...)
	text = appendStr(text, pid)
	text = append(text, `,"rooms":`...)
	if rooms == nil {
		rooms = []string{}
	}
	text, _ = parser.AppendValue(text, rooms, nil)
	text = append(text, `,"data":`...)
	if data == nil {
		text = append(text, "{}"...)
	} else {
		var err error
		if text, err = parser.AppendValue(text, data, &atts); err != nil {
			return "", fmt.Errorf("redis: session data: %w", err)
		}
	}
	if since != "" {
		text = append(text, `,"since":`...)
		text = appendStr(text, since)
	}
	if owner != "" {
		text = append(text, `,"owner":`...)
		text = appendStr(text, owner)
	}
	text = append(text, '}')
	b, err := msgpack.FromJSON(nil, text, atts)
	if err != nil {
		return "", fmt.Errorf("redis: session: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// decodeSession reads a stored session; its data as JSON-decoded values
// ([]byte for binary ones).
func decodeSession(raw string) (*storedSession, any, error) {
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("redis: stored session: %w", err)
	}
	var atts [][]byte
	text, rest, err := msgpack.ToJSON(nil, b, &atts)
	if err != nil || len(rest) > 0 {
		return nil, nil, fmt.Errorf("redis: stored session: not MessagePack: %v", err)
	}
	var s storedSession
	if err := json.Unmarshal(text, &s); err != nil {
		return nil, nil, fmt.Errorf("redis: stored session: %w", err)
	}
	if s.SID == "" || s.PID == "" {
		return nil, nil, errors.New("redis: stored session without sid or pid")
	}
	var data any
	if len(s.Data) > 0 && string(s.Data) != "null" {
		if err := parser.DecodeValue(s.Data, atts, &data); err != nil {
			return nil, nil, fmt.Errorf("redis: stored session data: %w", err)
		}
	}
	return &s, data, nil
}

// compareIDs orders two stream entry ids ("<ms>-<seq>").
func compareIDs(x, y string) int {
	xm, xs, _ := strings.Cut(x, "-")
	ym, ys, _ := strings.Cut(y, "-")
	if c := compareDecimal(xm, ym); c != 0 {
		return c
	}
	return compareDecimal(xs, ys)
}

func compareDecimal(x, y string) int {
	x, y = strings.TrimLeft(x, "0"), strings.TrimLeft(y, "0")
	if len(x) != len(y) {
		if len(x) < len(y) {
			return -1
		}
		return 1
	}
	return strings.Compare(x, y)
}

// PersistSession keeps the session of a socket that disconnected, in
// Redis, for MaxDisconnectionDuration.
func (a *StreamsAdapter) PersistSession(s *adapter.Session) {
	mdd := a.recovery()
	if mdd <= 0 {
		return
	}
	a.smu.Lock()
	delete(a.live, s.SID)
	if s.Local != nil {
		a.local[s.PID] = localState{local: s.Local, expires: time.Now().Add(mdd)}
	}
	a.smu.Unlock()
	val, err := encodeSession(s.PID, s.SID, s.Rooms, s.Data, s.Since, "")
	if err != nil {
		a.logger.Warn("redis: session not kept", "sid", s.SID, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a.flushMu.Lock()
	pipe := a.t.client.TxPipeline()
	pipe.Set(ctx, a.sessionKey(s.PID), val, mdd)
	pipe.Del(ctx, a.liveKey(s.PID))
	_, err = pipe.Exec(ctx)
	a.flushMu.Unlock()
	if err != nil {
		a.logger.Warn("redis: session not kept", "sid", s.SID, "err", err)
	}
}

// DropSession forgets the session of a socket that left for good.
func (a *StreamsAdapter) DropSession(sid adapter.SocketID, pid string) {
	a.smu.Lock()
	_, wasLive := a.live[sid]
	delete(a.live, sid)
	delete(a.local, pid)
	a.smu.Unlock()
	if !wasLive {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a.flushMu.Lock()
	err := a.t.client.Del(ctx, a.liveKey(pid)).Err()
	a.flushMu.Unlock()
	if err != nil {
		a.logger.Warn("redis: session not deleted", "sid", sid, "err", err)
	}
}

// UpdateSessionData records the data of a connected socket.
func (a *StreamsAdapter) UpdateSessionData(sid adapter.SocketID, data any) {
	a.smu.Lock()
	if l := a.live[sid]; l != nil {
		l.data, l.dirty = data, true
	}
	a.smu.Unlock()
}

// RestoreSession takes the session pid out of Redis: the one kept at its
// socket's disconnection, or, if its server died, the one of the connected
// socket. It checks that the packets after offset (or after the session's
// first entry when offset is empty or older) are still in the stream.
func (a *StreamsAdapter) RestoreSession(ctx context.Context, pid, offset string) (*adapter.Session, error) {
	if a.recovery() <= 0 || (offset != "" && !offsetPattern.MatchString(offset)) {
		return nil, nil
	}

	raw, err := a.t.client.GetDel(ctx, a.sessionKey(pid)).Result()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("redis: GETDEL session: %w", err)
	}
	if raw == "" {
		if raw, err = a.takeLive(ctx, pid); raw == "" || err != nil {
			return nil, err
		}
	}
	st, data, err := decodeSession(raw)
	if err != nil {
		return nil, err
	}
	if st.PID != pid {
		return nil, nil
	}
	start := offset
	if start == "" || (st.Since != "" && compareIDs(start, st.Since) < 0) {
		start = st.Since
	}
	if start == "" {
		return nil, nil // the official servers keep no first entry
	}
	if ok, err := a.kept(ctx, start); !ok || err != nil {
		return nil, err
	}
	s := &adapter.Session{PID: pid, SID: st.SID, Rooms: st.Rooms, Data: data, Since: st.Since, Offset: start}
	if s.Since == "" {
		s.Since = start
	}
	a.smu.Lock()
	if l, ok := a.local[pid]; ok {
		s.Local = l.local
		delete(a.local, pid)
	}
	a.smu.Unlock()
	return s, nil
}

// takeLive takes the session of a connected socket whose server is gone.
func (a *StreamsAdapter) takeLive(ctx context.Context, pid string) (string, error) {
	raw, err := a.t.client.Get(ctx, a.liveKey(pid)).Result()
	if errors.Is(err, goredis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("redis: GET live session: %w", err)
	}
	st, _, err := decodeSession(raw)
	if err != nil {
		return "", err
	}
	if st.Owner == "" || st.Owner == a.UID() {
		return "", nil
	}
	n, err := a.t.subscribers(ctx, a.t.public+st.Owner+"#")
	if err != nil {
		return "", fmt.Errorf("redis: is the session's server alive: %w", err)
	}
	if n > 0 {
		// Its server still holds the old connection (a half-open one):
		// it closes it and keeps the session.
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := a.t.takeover(tctx, st.Owner, st.SID, pid)
		cancel()
		if err != nil {
			a.logger.Warn("redis: the server of the session to recover did not hand it over", "sid", st.SID, "server", st.Owner, "err", err)
			return "", nil
		}
		raw, err = a.t.client.GetDel(ctx, a.sessionKey(pid)).Result()
		if errors.Is(err, goredis.Nil) {
			return "", nil
		}
		return raw, err
	}
	raw, err = a.t.client.GetDel(ctx, a.liveKey(pid)).Result()
	if errors.Is(err, goredis.Nil) {
		return "", nil // another server took it first
	}
	return raw, err
}

// kept reports whether every entry after id is still in the stream: id is
// in it, or id is "0-0" and no entry was ever trimmed.
func (a *StreamsAdapter) kept(ctx context.Context, id string) (bool, error) {
	if id == "0-0" {
		info, err := a.t.client.XInfoStream(ctx, a.t.stream).Result()
		if err != nil {
			if strings.Contains(err.Error(), "no such key") {
				return true, nil
			}
			return false, fmt.Errorf("redis: XINFO STREAM: %w", err)
		}
		return info.MaxDeletedEntryID == "" || info.MaxDeletedEntryID == "0-0", nil
	}
	msgs, err := a.t.client.XRange(ctx, a.t.stream, id, id).Result()
	if err != nil {
		return false, fmt.Errorf("redis: XRANGE: %w", err)
	}
	return len(msgs) > 0, nil
}

// Attach makes a socket live: a new one starts after the last entry read;
// a recovered one gets the recoverable packets of the stream after its
// offset sent to its rooms, the last of them read with the delivery of
// entries stopped.
func (a *StreamsAdapter) Attach(ctx context.Context, s *adapter.Session, attach func(missed []*parser.Packet)) error {
	if s.Offset == "" && s.Since == "" {
		a.deliverMu.Lock()
		s.Since = a.lastID
		attach(nil)
		a.deliverMu.Unlock()
		a.goLive(ctx, s)
		return nil
	}
	from := s.Offset
	if from == "" {
		from = s.Since
	}
	a.deliverMu.Lock()
	upto := a.lastID
	a.deliverMu.Unlock()
	var missed []*parser.Packet
	var err error
	if compareIDs(upto, from) > 0 {
		if missed, from, err = a.collect(ctx, s.Rooms, from, upto, missed); err != nil {
			return err
		}
	}
	a.deliverMu.Lock()
	// The client may hold entries this server has not read yet: they must
	// not reach it twice.
	for compareIDs(a.lastID, from) < 0 {
		if err := a.waitRead(ctx); err != nil {
			a.deliverMu.Unlock()
			return err
		}
	}
	if compareIDs(a.lastID, from) > 0 {
		if missed, _, err = a.collect(ctx, s.Rooms, from, a.lastID, missed); err != nil {
			a.deliverMu.Unlock()
			return err
		}
	}
	attach(missed)
	a.deliverMu.Unlock()
	a.goLive(ctx, s)
	return nil
}

// waitRead waits, deliverMu held, for the reader to deliver more entries.
func (a *StreamsAdapter) waitRead(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() {
		a.deliverMu.Lock()
		a.readCond.Broadcast()
		a.deliverMu.Unlock()
	})
	a.readCond.Wait()
	stop()
	return ctx.Err()
}

// collect appends the recoverable packets of the entries in (from, upto]
// meant for a socket in rooms, and returns the last id read.
func (a *StreamsAdapter) collect(ctx context.Context, rooms []string, from, upto string, out []*parser.Packet) ([]*parser.Packet, string, error) {
	in := make(map[string]bool, len(rooms))
	for _, r := range rooms {
		in[r] = true
	}
	for {
		msgs, err := a.t.client.XRangeN(ctx, a.t.stream, "("+from, upto, restoreReadCount).Result()
		if err != nil {
			return out, from, fmt.Errorf("redis: reading missed packets: %w", err)
		}
		for _, msg := range msgs {
			from = msg.ID
			if typ, _ := msg.Values["type"].(string); typ != "3" {
				continue
			}
			m, err := a.t.decodeEntry(msg.Values)
			if err != nil || m == nil || m.Packet == nil || m.RequestID != "" || !adapter.Recoverable(m.Packet, m.Opts) {
				continue
			}
			if !meantFor(in, m.Opts) {
				continue
			}
			m.Packet.Data = adapter.AppendOffset(m.Packet.Data, msg.ID)
			out = append(out, m.Packet)
		}
		if len(msgs) < restoreReadCount {
			return out, from, nil
		}
	}
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

// goLive starts keeping the session of a connected socket in Redis, where
// it is written at once: until then, a client that comes back on another
// server would find no session.
func (a *StreamsAdapter) goLive(ctx context.Context, s *adapter.Session) {
	a.smu.Lock()
	a.live[s.SID] = &liveSession{pid: s.PID, since: s.Since, data: s.Data, dirty: true}
	a.smu.Unlock()
	a.flushOne(ctx, s.SID)
}

// flushLoop writes the sessions of connected sockets that changed, and
// keeps them from expiring, until ctx ends.
func (a *StreamsAdapter) flushLoop(ctx context.Context, wg *sync.WaitGroup) {
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
		if mdd <= 0 {
			continue
		}
		refresh := max(mdd/4, 250*time.Millisecond)
		all := time.Since(lastRefresh) >= refresh
		if all {
			lastRefresh = time.Now()
		}
		a.flush(ctx, mdd+2*refresh, all)
	}
}

// flushOne writes the session of connected socket sid.
func (a *StreamsAdapter) flushOne(ctx context.Context, sid adapter.SocketID) {
	mdd := a.recovery()
	a.flushSessions(ctx, mdd+2*max(mdd/4, 250*time.Millisecond), false, []adapter.SocketID{sid})
}

// flush writes the changed live sessions (all of them with all) with time
// to live ttl.
func (a *StreamsAdapter) flush(ctx context.Context, ttl time.Duration, all bool) {
	a.flushSessions(ctx, ttl, all, nil)
}

// flushSessions writes the live sessions of only, or the changed ones
// when only is nil, extending the time to live of the others with all.
func (a *StreamsAdapter) flushSessions(ctx context.Context, ttl time.Duration, all bool, only []adapter.SocketID) {
	type write struct {
		sid adapter.SocketID
		pid string
		val string // "" to only extend the time to live
	}
	var writes []write
	a.smu.Lock()
	now := time.Now()
	for pid, l := range a.local {
		if now.After(l.expires) {
			delete(a.local, pid)
		}
	}
	dirty := only
	if only == nil {
		for sid, l := range a.live {
			if l.dirty {
				dirty = append(dirty, sid)
			} else if all {
				writes = append(writes, write{sid: sid, pid: l.pid})
			}
		}
	}
	a.smu.Unlock()
	for _, sid := range dirty {
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
		val, err := encodeSession(pid, sid, rooms, data, since, a.UID())
		if err != nil {
			a.logger.Warn("redis: session of a connected socket not kept", "sid", sid, "err", err)
			continue
		}
		writes = append(writes, write{sid: sid, pid: pid, val: val})
	}
	if len(writes) == 0 {
		return
	}
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	pipe := a.t.client.Pipeline()
	n := 0
	a.smu.Lock()
	for _, w := range writes {
		// A socket that disconnected meanwhile has its session deleted
		// or replaced: it must not come back.
		if l := a.live[w.sid]; l == nil || l.pid != w.pid {
			continue
		}
		if w.val == "" {
			pipe.PExpire(ctx, a.liveKey(w.pid), ttl)
		} else {
			pipe.Set(ctx, a.liveKey(w.pid), w.val, ttl)
		}
		n++
	}
	a.smu.Unlock()
	if n == 0 {
		return
	}
	if _, err := pipe.Exec(ctx); err != nil && ctx.Err() == nil {
		a.logger.Warn("redis: sessions of connected sockets not kept", "err", err)
		a.smu.Lock()
		for _, w := range writes {
			if l := a.live[w.sid]; l != nil && l.pid == w.pid {
				l.dirty = true
			}
		}
		a.smu.Unlock()
	}
}

var _ adapter.LiveSessionStore = (*StreamsAdapter)(nil)
var _ adapter.RecoveryConfigurer = (*StreamsAdapter)(nil)
