package socketio

import (
	"sync/atomic"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/engineio/packet"
	"github.com/socketio-go/socketio/parser"
)

// Observer receives what happens in a Server, for metrics, tracing or an
// admin dashboard. Install one with Server.Observe; with none, the server
// pays nothing but a nil check at each place an event happens.
//
// Methods are called synchronously, on the goroutine where the event
// happens, sometimes on the path of every packet: they must be quick and
// must not block. They may be called concurrently. PacketReceived,
// PacketsSent and Dropped may run while the server holds a namespace's
// lock: they must not call the server. The others may (an admin dashboard
// emits from them), from the socket's own goroutine for SocketConnect.
// To implement only some methods, embed NopObserver: methods may be added
// to Observer later, and NopObserver will have them.
type Observer interface {
	// NamespaceCreated is called once for every namespace: at Observe for
	// those that exist, then as they are created.
	NamespaceCreated(nsp *Namespace)
	// ConnOpened is called when a client opened a connection (an
	// Engine.IO session), with its id and its transport, "polling" or
	// "websocket".
	ConnOpened(connID, transport string)
	// ConnUpgraded is called when a connection moved from long-polling to
	// WebSocket.
	ConnUpgraded(connID string)
	// ConnClosed is called when a connection closed, with the reason
	// (ReasonTransportClose, ReasonPingTimeout...).
	ConnClosed(connID string, reason DisconnectReason)
	// SocketConnect is called when an attempt to connect to a namespace
	// ended: with a nil err the socket is connected (its CONNECT reply is
	// queued and its connection handlers are about to run); otherwise err
	// is the refusal of a middleware. start is when the CONNECT packet
	// arrived, middlewares how long the middlewares took.
	SocketConnect(s *Socket, start time.Time, middlewares time.Duration, err error)
	// SocketDisconnected is called when a connected socket disconnected,
	// once it left its rooms.
	SocketDisconnected(s *Socket, reason DisconnectReason)
	// RoomJoined and RoomLeft are called when a socket of this server
	// joined or left a room, its own room included (when the namespace's
	// adapter embeds adapter.InMemory, as every adapter of this module
	// does).
	RoomJoined(nsp *Namespace, id, room string)
	RoomLeft(nsp *Namespace, id, room string)
	// PacketReceived is called for every Socket.IO packet received, with
	// its size on the wire (binary attachments included).
	PacketReceived(t parser.Type, bytes int)
	// PacketsSent is called when a packet was queued for n connections,
	// with the bytes queued in all (n times the packet's size): once per
	// emit to a socket, once per local delivery of a broadcast. A volatile
	// packet the transport could not take counts here too, and is also
	// reported by Dropped.
	PacketsSent(t parser.Type, n, bytes int)
	// Broadcast is called for every local delivery of a broadcast (from
	// this server or, through the adapter, from another one), with the
	// number of sockets it reached here.
	Broadcast(nsp *Namespace, recipients int)
	// Ack is called when an emit with acknowledgement ended: err is nil
	// when the acknowledgement (all of them, for a broadcast) arrived,
	// else the error EmitWithAck returned. latency is from the emit.
	Ack(nsp *Namespace, event string, latency time.Duration, err error)
	// Dropped is called when packets were not queued for a connection: a
	// volatile packet the transport could not take, or packets that
	// overflowed the write queue (slowConsumer), which closes the
	// connection. packets counts Engine.IO packets.
	Dropped(connID string, packets int, slowConsumer bool)
	// AdapterRequest is called after every operation a namespace asked of
	// its adapter that may involve other servers: op is "broadcast",
	// "broadcastWithAck", "fetchSockets", "addSockets", "delSockets",
	// "disconnectSockets", "serverSideEmit" or "serverSideEmitWithAck".
	AdapterRequest(nsp *Namespace, op string, d time.Duration, err error)
}

// NopObserver implements every method of Observer by doing nothing. Embed
// it in an Observer that handles only some events.
type NopObserver struct{}

// NamespaceCreated does nothing.
func (NopObserver) NamespaceCreated(*Namespace) {}

// ConnOpened does nothing.
func (NopObserver) ConnOpened(string, string) {}

// ConnUpgraded does nothing.
func (NopObserver) ConnUpgraded(string) {}

// ConnClosed does nothing.
func (NopObserver) ConnClosed(string, DisconnectReason) {}

// SocketConnect does nothing.
func (NopObserver) SocketConnect(*Socket, time.Time, time.Duration, error) {}

// SocketDisconnected does nothing.
func (NopObserver) SocketDisconnected(*Socket, DisconnectReason) {}

// RoomJoined does nothing.
func (NopObserver) RoomJoined(*Namespace, string, string) {}

// RoomLeft does nothing.
func (NopObserver) RoomLeft(*Namespace, string, string) {}

// PacketReceived does nothing.
func (NopObserver) PacketReceived(parser.Type, int) {}

// PacketsSent does nothing.
func (NopObserver) PacketsSent(parser.Type, int, int) {}

// Broadcast does nothing.
func (NopObserver) Broadcast(*Namespace, int) {}

// Ack does nothing.
func (NopObserver) Ack(*Namespace, string, time.Duration, error) {}

// Dropped does nothing.
func (NopObserver) Dropped(string, int, bool) {}

// AdapterRequest does nothing.
func (NopObserver) AdapterRequest(*Namespace, string, time.Duration, error) {}

// observers fans events out to several observers.
type observers []Observer

func (os observers) NamespaceCreated(n *Namespace) {
	for _, o := range os {
		o.NamespaceCreated(n)
	}
}

func (os observers) ConnOpened(id, t string) {
	for _, o := range os {
		o.ConnOpened(id, t)
	}
}

func (os observers) ConnUpgraded(id string) {
	for _, o := range os {
		o.ConnUpgraded(id)
	}
}

func (os observers) ConnClosed(id string, r DisconnectReason) {
	for _, o := range os {
		o.ConnClosed(id, r)
	}
}

func (os observers) SocketConnect(s *Socket, start time.Time, mw time.Duration, err error) {
	for _, o := range os {
		o.SocketConnect(s, start, mw, err)
	}
}

func (os observers) SocketDisconnected(s *Socket, r DisconnectReason) {
	for _, o := range os {
		o.SocketDisconnected(s, r)
	}
}

func (os observers) RoomJoined(n *Namespace, id, room string) {
	for _, o := range os {
		o.RoomJoined(n, id, room)
	}
}

func (os observers) RoomLeft(n *Namespace, id, room string) {
	for _, o := range os {
		o.RoomLeft(n, id, room)
	}
}

func (os observers) PacketReceived(t parser.Type, b int) {
	for _, o := range os {
		o.PacketReceived(t, b)
	}
}

func (os observers) PacketsSent(t parser.Type, n, b int) {
	for _, o := range os {
		o.PacketsSent(t, n, b)
	}
}

func (os observers) Broadcast(n *Namespace, r int) {
	for _, o := range os {
		o.Broadcast(n, r)
	}
}

func (os observers) Ack(n *Namespace, ev string, d time.Duration, err error) {
	for _, o := range os {
		o.Ack(n, ev, d, err)
	}
}

func (os observers) Dropped(id string, p int, slow bool) {
	for _, o := range os {
		o.Dropped(id, p, slow)
	}
}

func (os observers) AdapterRequest(n *Namespace, op string, d time.Duration, err error) {
	for _, o := range os {
		o.AdapterRequest(n, op, d, err)
	}
}

// observerBox holds the installed observers: one, or observers.
type observerBox struct {
	o    Observer
	list []Observer
}

// observerSlot is the Server's observer; nil until Observe is called.
type observerSlot = atomic.Pointer[observerBox]

// Observe installs o: from now on it receives the server's events (see
// Observer), after the observers installed before. NamespaceCreated is
// called at once for every existing namespace. There is no way to remove
// an observer.
func (s *Server) Observe(o Observer) {
	s.mu.Lock()
	var list []Observer
	if b := s.obs.Load(); b != nil {
		list = b.list
	}
	list = append(list[:len(list):len(list)], o)
	box := &observerBox{o: o, list: list}
	if len(list) > 1 {
		box.o = observers(list)
	}
	s.obs.Store(box)
	nsps := make([]*Namespace, 0, len(s.nsps))
	for _, n := range s.nsps {
		nsps = append(nsps, n)
	}
	s.mu.Unlock()
	for _, n := range nsps {
		n.watchRooms()
		o.NamespaceCreated(n)
	}
}

// observer returns the installed observer, or nil.
func (s *Server) observer() Observer {
	if b := s.obs.Load(); b != nil {
		return b.o
	}
	return nil
}

// observing returns the current time when an observer is installed, and
// the zero time otherwise: the start of a measure that costs nothing when
// nobody observes.
func (s *Server) observing() time.Time {
	if s.obs.Load() == nil {
		return time.Time{}
	}
	return time.Now()
}

// namespaceCreated tells the observer o (read under s.mu when nsp was
// registered) about nsp.
func (s *Server) namespaceCreated(o Observer, nsp *Namespace) {
	if o == nil {
		return
	}
	nsp.watchRooms()
	o.NamespaceCreated(nsp)
}

// watchRooms reports the room changes of the namespace's adapter to the
// observer, when the adapter supports it (adapter.InMemory and the
// adapters that embed it).
func (n *Namespace) watchRooms() {
	a, ok := n.adapter.(interface {
		SetMembershipHooks(*adapter.MembershipHooks)
	})
	if !ok {
		return
	}
	a.SetMembershipHooks(&adapter.MembershipHooks{
		Joined: func(id, room string) {
			if o := n.srv.observer(); o != nil {
				o.RoomJoined(n, id, room)
			}
		},
		Left: func(id, room string) {
			if o := n.srv.observer(); o != nil {
				o.RoomLeft(n, id, room)
			}
		},
	})
}

// adapterDone reports an adapter operation begun at start (see observing)
// and returns its error.
func (n *Namespace) adapterDone(op string, start time.Time, err error) error {
	if start.IsZero() {
		return err
	}
	if o := n.srv.observer(); o != nil {
		o.AdapterRequest(n, op, time.Since(start), err)
	}
	return err
}

// ackDone reports the end of an emit with acknowledgement begun at start
// (see observing).
func (n *Namespace) ackDone(event string, start time.Time, err error) {
	if start.IsZero() {
		return
	}
	if o := n.srv.observer(); o != nil {
		o.Ack(n, event, time.Since(start), err)
	}
}

// packetsSent reports a packet queued for n connections.
func (s *Server) packetsSent(t parser.Type, pkts []packet.Packet, n int) {
	if n == 0 {
		return
	}
	if o := s.observer(); o != nil {
		size := 0
		for _, p := range pkts {
			size += len(p.Data)
		}
		o.PacketsSent(t, n, size*n)
	}
}

// engineHooks are the hooks the Server installs on its engine: refused
// requests, upgrades and dropped packets.
func (s *Server) engineHooks() engineio.Hooks {
	return engineio.Hooks{
		OnConnectionError: s.connectionError,
		OnUpgrade: func(sess *engineio.Session) {
			s.stats.polling.Add(-1)
			if o := s.observer(); o != nil {
				o.ConnUpgraded(sess.ID())
			}
		},
		OnDrop: func(sess *engineio.Session, n int, slow bool) {
			if o := s.observer(); o != nil {
				o.Dropped(sess.ID(), n, slow)
			}
		},
	}
}
