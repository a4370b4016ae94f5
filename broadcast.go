package socketio

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/socketio-go/socketio/adapter"
)

// BroadcastOperator selects sockets of a namespace and acts on all of them:
// emit, emit with acknowledgements, fetch, join, leave, disconnect. It is
// immutable: every method returns a new operator, so operators can be
// stored and shared between goroutines.
type BroadcastOperator struct {
	nsp    *Namespace
	rooms  []string
	except []string
	flags  adapter.BroadcastFlags
}

func (b *BroadcastOperator) clone() *BroadcastOperator {
	c := *b
	return &c
}

// To adds rooms to the selection: the sockets in any of the rooms (each
// socket once, even if it is in several).
func (b *BroadcastOperator) To(rooms ...string) *BroadcastOperator {
	c := b.clone()
	c.rooms = slices.Concat(b.rooms, rooms)
	return c
}

// In is To.
func (b *BroadcastOperator) In(rooms ...string) *BroadcastOperator { return b.To(rooms...) }

// Except excludes the sockets in any of rooms.
func (b *BroadcastOperator) Except(rooms ...string) *BroadcastOperator {
	c := b.clone()
	c.except = slices.Concat(b.except, rooms)
	return c
}

// Local restricts the operation to the sockets of this server.
func (b *BroadcastOperator) Local() *BroadcastOperator {
	c := b.clone()
	c.flags.Local = true
	return c
}

// Volatile lets the event be dropped for sockets that cannot take it right
// now (a long-polling client between two requests, a WebSocket with a
// backlog).
func (b *BroadcastOperator) Volatile() *BroadcastOperator {
	c := b.clone()
	c.flags.Volatile = true
	return c
}

// Compress sets the compress flag: Compress(false) sends the event without
// compression (see Options.PerMessageDeflate and Options.HTTPCompression).
// Events are compressed by default.
func (b *BroadcastOperator) Compress(compress bool) *BroadcastOperator {
	c := b.clone()
	c.flags.NoCompress = !compress
	return c
}

func (b *BroadcastOperator) opts() adapter.BroadcastOptions {
	return adapter.BroadcastOptions{Rooms: b.rooms, Except: b.except, Flags: b.flags}
}

// Emit sends an event to the selected sockets. The packet is encoded once
// for all of them.
//
// Errors: ErrReservedEvent, an encoding error, or an adapter error. Sockets
// that cannot take the packet are handled on their own (a slow consumer is
// disconnected) and do not make Emit fail.
func (b *BroadcastOperator) Emit(event string, args ...any) error {
	p, err := b.nsp.newEventPacket(event, args)
	if err != nil {
		return err
	}
	start := b.nsp.srv.observing()
	return b.nsp.adapterDone("broadcast", start, b.nsp.adapter.Broadcast(p, b.opts()))
}

// EmitWithAck sends an event to the selected sockets and waits for every
// one of them to acknowledge it, or for ctx to end. It returns the
// acknowledgements received; when ctx ends first it returns those that
// arrived together with an error matching ErrAckTimeout (the same shape as
// the official API's (err, responses)). Sockets that disconnect before
// answering are not waited for: once every other socket answered, it
// returns the responses with an error matching both ErrAckTimeout (the
// official server reports a timeout there, later) and ErrDisconnected (to
// tell it from the end of ctx), so that a port of `if (err)` keeps its
// meaning.
func (b *BroadcastOperator) EmitWithAck(ctx context.Context, event string, args ...any) (_ []Args, err error) {
	start := b.nsp.srv.observing()
	defer func() { b.nsp.ackDone(event, start, err) }()
	p, err := b.nsp.newEventPacket(event, args)
	if err != nil {
		return nil, err
	}
	releaseTurn(ctx)
	opts := b.opts()
	if deadline, ok := ctx.Deadline(); ok {
		// Carried to the other servers of a cluster, which wait as long.
		opts.Flags.Timeout = time.Until(deadline).Round(time.Millisecond)
	}
	servers := 1
	if !b.flags.Local {
		if servers, err = b.nsp.adapter.ServerCount(ctx); err != nil {
			return nil, err
		}
	}
	var (
		mu        sync.Mutex
		expected  int
		counted   int
		answered  int
		gone      int // sockets that disconnected before answering
		responses []Args
		done      = make(chan struct{})
		finished  bool
	)
	check := func() {
		if !finished && counted >= servers && answered >= expected {
			finished = true
			close(done)
		}
	}
	onCount := func(n int) {
		mu.Lock()
		expected += n
		counted++
		check()
		mu.Unlock()
	}
	onAck := func(r adapter.AckResponse) {
		var a Args
		var aerr error
		if r.Err == nil {
			a, aerr = newArgs(r.Data, r.Attachments)
		}
		mu.Lock()
		answered++
		if r.Err != nil {
			gone++
		} else if aerr == nil {
			responses = append(responses, a)
		}
		check()
		mu.Unlock()
	}
	if err := b.nsp.adapterDone("broadcastWithAck", start, b.nsp.adapter.BroadcastWithAck(ctx, p, opts, onCount, onAck)); err != nil {
		return nil, err
	}
	select {
	case <-done:
		mu.Lock()
		defer mu.Unlock()
		if gone > 0 {
			return responses, fmt.Errorf("%w: %d of %d sockets disconnected before answering: %w", ErrAckTimeout, gone, expected, ErrDisconnected)
		}
		return responses, nil
	case <-ctx.Done():
		mu.Lock()
		defer mu.Unlock()
		finished = true
		return slices.Clone(responses), ackTimeoutError(ctx)
	}
}

// FetchSockets describes the selected sockets, on every server unless
// Local.
func (b *BroadcastOperator) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	releaseTurn(ctx)
	start := b.nsp.srv.observing()
	infos, err := b.nsp.adapter.FetchSockets(ctx, b.opts())
	err = b.nsp.adapterDone("fetchSockets", start, err)
	if err != nil {
		return nil, err
	}
	out := make([]*RemoteSocket, len(infos))
	for i, info := range infos {
		out[i] = &RemoteSocket{nsp: b.nsp, info: info}
	}
	return out, nil
}

// SocketsJoin makes the selected sockets join rooms.
func (b *BroadcastOperator) SocketsJoin(rooms ...string) error {
	start := b.nsp.srv.observing()
	return b.nsp.adapterDone("addSockets", start, b.nsp.adapter.AddSockets(b.opts(), rooms))
}

// SocketsLeave makes the selected sockets leave rooms.
func (b *BroadcastOperator) SocketsLeave(rooms ...string) error {
	start := b.nsp.srv.observing()
	return b.nsp.adapterDone("delSockets", start, b.nsp.adapter.DelSockets(b.opts(), rooms))
}

// DisconnectSockets disconnects the selected sockets; with close, their
// whole connections are closed.
func (b *BroadcastOperator) DisconnectSockets(close bool) error {
	start := b.nsp.srv.observing()
	return b.nsp.adapterDone("disconnectSockets", start, b.nsp.adapter.DisconnectSockets(b.opts(), close))
}

// RemoteSocket describes a socket returned by FetchSockets, which may be
// connected to another server of the cluster. Its methods act through the
// adapter, wherever the socket is.
type RemoteSocket struct {
	nsp  *Namespace
	info adapter.SocketInfo
}

// ID returns the socket id.
func (r *RemoteSocket) ID() string { return r.info.ID }

// Handshake describes the socket's connection request.
func (r *RemoteSocket) Handshake() *Handshake { return r.info.Handshake }

// Rooms returns the rooms the socket was in when it was fetched.
func (r *RemoteSocket) Rooms() []string { return r.info.Rooms }

// Data returns the socket's application data when it was fetched. For a
// socket of this server it is the very value given to SetData (shared with
// the socket: a pointer or a map changed by one is changed for both, so
// guard or copy it). For a socket of another server it is a copy made from
// its JSON, decoded as encoding/json decodes into an any
// (map[string]any, []any, float64, string, bool, nil), binary values as
// []byte; a socket of a Node.js server that never set data has {}
// (map[string]any{}).
func (r *RemoteSocket) Data() any { return r.info.Data }

func (r *RemoteSocket) self() *BroadcastOperator { return r.nsp.To(r.info.ID) }

// Emit sends an event to the socket.
func (r *RemoteSocket) Emit(event string, args ...any) error {
	return r.self().Emit(event, args...)
}

// Join makes the socket join rooms.
func (r *RemoteSocket) Join(rooms ...string) error { return r.self().SocketsJoin(rooms...) }

// Leave makes the socket leave rooms.
func (r *RemoteSocket) Leave(rooms ...string) error { return r.self().SocketsLeave(rooms...) }

// Disconnect disconnects the socket; with close, its whole connection.
func (r *RemoteSocket) Disconnect(close bool) error { return r.self().DisconnectSockets(close) }
