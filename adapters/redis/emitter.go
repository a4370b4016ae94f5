package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"

	goredis "github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio/adapter/cluster"
	"github.com/socketio-go/socketio/msgpack"
	"github.com/socketio-go/socketio/parser"
)

// emitterUID is the uid the official emitter publishes with.
const emitterUID = "emitter"

// ErrReservedEvent is returned when emitting an event whose name is
// reserved by the protocol.
var ErrReservedEvent = errors.New("redis: reserved event name")

// EmitterOptions configure NewEmitter.
type EmitterOptions struct {
	// Key is the prefix of the channels, the Key of the servers' adapter.
	// Zero means "socket.io".
	Key string
}

// Emitter sends events to the clients of a cluster of servers using the
// classic Redis adapter (NewAdapter, or the official createAdapter) from a
// process that is not a Socket.IO server: a worker, a cron job, another
// service. It is wire-compatible with the official @socket.io/redis-emitter
// 5.1: a Go emitter drives Node servers and a Node emitter drives Go
// servers.
//
// An Emitter is immutable: To, Except, Volatile and Of return new ones, so
// one can be shared between goroutines.
type Emitter struct {
	client goredis.UniversalClient
	key    string
	nsp    string
	rooms  []string
	except []string
	flags  emitterFlags
}

type emitterFlags struct {
	volatile bool
	compress *bool
}

// NewEmitter returns an Emitter for the main namespace "/".
func NewEmitter(client goredis.UniversalClient, opts *EmitterOptions) *Emitter {
	key := "socket.io"
	if opts != nil && opts.Key != "" {
		key = opts.Key
	}
	return &Emitter{client: client, key: key, nsp: "/"}
}

func (e *Emitter) clone() *Emitter {
	c := *e
	c.rooms, c.except = slices.Clone(e.rooms), slices.Clone(e.except)
	return &c
}

// Of returns an Emitter for the namespace nsp (a leading "/" is added when
// missing), with no room selected.
func (e *Emitter) Of(nsp string) *Emitter {
	if len(nsp) == 0 || nsp[0] != '/' {
		nsp = "/" + nsp
	}
	return &Emitter{client: e.client, key: e.key, nsp: nsp}
}

// To selects the sockets in any of rooms.
func (e *Emitter) To(rooms ...string) *Emitter {
	c := e.clone()
	for _, r := range rooms {
		if !slices.Contains(c.rooms, r) {
			c.rooms = append(c.rooms, r)
		}
	}
	return c
}

// In is To.
func (e *Emitter) In(rooms ...string) *Emitter { return e.To(rooms...) }

// Except excludes the sockets in any of rooms.
func (e *Emitter) Except(rooms ...string) *Emitter {
	c := e.clone()
	for _, r := range rooms {
		if !slices.Contains(c.except, r) {
			c.except = append(c.except, r)
		}
	}
	return c
}

// Volatile lets the servers drop the event for clients that cannot take it
// right now.
func (e *Emitter) Volatile() *Emitter {
	c := e.clone()
	c.flags.volatile = true
	return c
}

// Compress sets the compress flag, carried to the servers.
func (e *Emitter) Compress(compress bool) *Emitter {
	c := e.clone()
	c.flags.compress = &compress
	return c
}

func (e *Emitter) broadcastChannel() string { return e.key + "#" + e.nsp + "#" }
func (e *Emitter) requestChannel() string   { return e.key + "-request#" + e.nsp + "#" }

// Emit sends an event to the selected clients of every server. Arguments
// are encoded as with socketio.Socket.Emit ([]byte values as binary).
func (e *Emitter) Emit(ctx context.Context, event string, args ...any) error {
	if parser.IsReservedEvent(event) {
		return ErrReservedEvent
	}
	var atts [][]byte
	data, err := parser.AppendArray(nil, &atts, append([]any{event}, args...)...)
	if err != nil {
		return err
	}
	// [uid, {type, data, nsp}, {rooms, flags, except}], in the official
	// emitter's key order.
	b := append([]byte{'['}, appendStr(nil, emitterUID)...)
	b = append(b, `,{"type":2,"data":`...)
	b = append(b, data...)
	b = append(b, `,"nsp":`...)
	b = appendStr(b, e.nsp)
	b = append(b, `},{"rooms":`...)
	b = cluster.AppendStrings(b, e.rooms)
	b = append(b, `,"flags":{`...)
	sep := ""
	if e.flags.volatile {
		b = append(b, `"volatile":true`...)
		sep = ","
	}
	if e.flags.compress != nil {
		b = fmt.Appendf(b, `%s"compress":%t`, sep, *e.flags.compress)
	}
	b = append(b, `},"except":`...)
	b = cluster.AppendStrings(b, e.except)
	b = append(b, "}]"...)
	msg, err := msgpack.FromJSON(nil, b, atts)
	if err != nil {
		return err
	}
	channel := e.broadcastChannel()
	if len(e.rooms) == 1 {
		channel += e.rooms[0] + "#"
	}
	return e.client.Publish(ctx, channel, msg).Err()
}

// request publishes a request of the classic protocol: {type, opts, extra}.
func (e *Emitter) request(ctx context.Context, typ int, extra func([]byte) []byte) error {
	b := fmt.Appendf(nil, `{"type":%d,"opts":{"rooms":`, typ)
	b = cluster.AppendStrings(b, e.rooms)
	b = append(b, `,"except":`...)
	b = cluster.AppendStrings(b, e.except)
	b = append(b, '}')
	b = extra(b)
	b = append(b, '}')
	return e.client.Publish(ctx, e.requestChannel(), b).Err()
}

// SocketsJoin makes the selected sockets of every server join rooms.
func (e *Emitter) SocketsJoin(ctx context.Context, rooms ...string) error {
	return e.request(ctx, reqRemoteJoin, func(b []byte) []byte {
		return cluster.AppendStrings(append(b, `,"rooms":`...), rooms)
	})
}

// SocketsLeave makes the selected sockets of every server leave rooms.
func (e *Emitter) SocketsLeave(ctx context.Context, rooms ...string) error {
	return e.request(ctx, reqRemoteLeave, func(b []byte) []byte {
		return cluster.AppendStrings(append(b, `,"rooms":`...), rooms)
	})
}

// DisconnectSockets disconnects the selected sockets of every server; with
// close, their whole connections.
func (e *Emitter) DisconnectSockets(ctx context.Context, close bool) error {
	return e.request(ctx, reqRemoteDisconnect, func(b []byte) []byte {
		return fmt.Appendf(b, `,"close":%t`, close)
	})
}

// ServerSideEmit sends an event to every server (their OnServerSideEmit
// handlers). Acknowledgements are not supported, as with the official
// emitter.
func (e *Emitter) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	if parser.IsReservedEvent(event) {
		return ErrReservedEvent
	}
	data, err := parser.AppendArray(nil, nil, append([]any{event}, args...)...)
	if err != nil {
		return err
	}
	b := append([]byte(`{"uid":`), appendStr(nil, emitterUID)...)
	b = fmt.Appendf(b, `,"type":%d,"data":`, reqServerSideEmit)
	b = append(b, data...)
	b = append(b, '}')
	return e.client.Publish(ctx, e.requestChannel(), b).Err()
}
