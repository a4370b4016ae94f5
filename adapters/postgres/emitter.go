package postgres

import (
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/adapter/cluster"
	"github.com/socketio-go/socketio/parser"
)

// emitterUID is the uid the official emitter publishes with; servers do
// not count it as a server.
const emitterUID = "emitter"

// ErrReservedEvent is returned when emitting an event whose name is
// reserved by the protocol.
var ErrReservedEvent = errors.New("postgres: reserved event name")

// EmitterOptions configure NewEmitter: the ChannelPrefix, TableName and
// PayloadThreshold of the servers' adapters (zero values as in Options).
type EmitterOptions struct {
	ChannelPrefix    string
	TableName        string
	PayloadThreshold int
}

// Emitter sends events to the clients of a cluster of servers on the
// PostgreSQL adapter (NewAdapter, or the official createAdapter) from a
// process that is not a Socket.IO server: a worker, a cron job, another
// service. Its messages have the layout of the official
// @socket.io/postgres-emitter 0.1 plus the namespace, which the official
// adapter 0.4 and 0.5 require (they drop the official emitter's
// messages; Go servers take both).
//
// An Emitter is immutable: To, Except, Volatile and Of return new ones, so
// one can be shared between goroutines.
type Emitter struct {
	h      *hub
	nsp    string
	rooms  []string
	except []string
	flags  adapter.BroadcastFlags
}

// NewEmitter returns an Emitter for the main namespace "/".
func NewEmitter(pool *pgxpool.Pool, opts *EmitterOptions) *Emitter {
	var o Options
	if opts != nil {
		o.ChannelPrefix, o.TableName, o.PayloadThreshold = opts.ChannelPrefix, opts.TableName, opts.PayloadThreshold
	}
	o.defaults()
	return &Emitter{h: newHub(pool, &o), nsp: "/"}
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
	return &Emitter{h: e.h, nsp: nsp}
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
	c.flags.Volatile = true
	return c
}

func (e *Emitter) opts() adapter.BroadcastOptions {
	return adapter.BroadcastOptions{Rooms: e.rooms, Except: e.except, Flags: e.flags}
}

func (e *Emitter) channel() string { return e.h.opts.ChannelPrefix + "#" + e.nsp }

func (e *Emitter) publish(ctx context.Context, m *cluster.Message) error {
	m.UID, m.NSP = emitterUID, e.nsp
	if len(e.channel()) > maxChannelLen {
		return ErrChannelTooLong
	}
	return e.h.publish(ctx, e.channel(), m)
}

// Emit sends an event to the selected clients of every server. Arguments
// are encoded as with socketio.Socket.Emit ([]byte values as binary,
// which go through the attachment table, as payloads over the threshold
// do).
func (e *Emitter) Emit(ctx context.Context, event string, args ...any) error {
	if parser.IsReservedEvent(event) {
		return ErrReservedEvent
	}
	var atts [][]byte
	data, err := parser.AppendArray(nil, &atts, append([]any{event}, args...)...)
	if err != nil {
		return err
	}
	return e.publish(ctx, &cluster.Message{
		Type:   cluster.Broadcast,
		Opts:   e.opts(),
		Packet: &parser.Packet{Type: parser.Event, ID: parser.NoID, Namespace: e.nsp, Data: data, Attachments: atts},
	})
}

// SocketsJoin makes the selected sockets join rooms.
func (e *Emitter) SocketsJoin(ctx context.Context, rooms ...string) error {
	return e.publish(ctx, &cluster.Message{Type: cluster.SocketsJoin, Opts: e.opts(), Rooms: rooms})
}

// SocketsLeave makes the selected sockets leave rooms.
func (e *Emitter) SocketsLeave(ctx context.Context, rooms ...string) error {
	return e.publish(ctx, &cluster.Message{Type: cluster.SocketsLeave, Opts: e.opts(), Rooms: rooms})
}

// DisconnectSockets disconnects the selected sockets; close also closes
// their underlying connections.
func (e *Emitter) DisconnectSockets(ctx context.Context, close bool) error {
	return e.publish(ctx, &cluster.Message{Type: cluster.DisconnectSockets, Opts: e.opts(), Close: close})
}

// ServerSideEmit sends an event to the servers of the cluster (their
// OnServerSideEmit handlers); answers cannot be asked.
func (e *Emitter) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	if parser.IsReservedEvent(event) {
		return ErrReservedEvent
	}
	var atts [][]byte
	data, err := parser.AppendArray(nil, &atts, append([]any{event}, args...)...)
	if err != nil {
		return err
	}
	return e.publish(ctx, &cluster.Message{
		Type:   cluster.ServerSideEmit,
		Packet: &parser.Packet{Type: parser.Event, ID: parser.NoID, Namespace: e.nsp, Data: data, Attachments: atts},
	})
}
