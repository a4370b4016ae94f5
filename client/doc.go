// Package client is a Socket.IO v4 client for Go, wire-compatible with the
// official servers (the Node "socket.io" 4.x package and this module's
// server) and modelled on the official JavaScript client, socket.io-client
// 4.8.
//
// # Quick start
//
//	s, err := client.Connect(ctx, "http://localhost:3000/", nil, &client.SocketOptions{
//		Auth: map[string]any{"token": "abc"},
//	})
//	if err != nil {
//		var ce *client.ConnectError // refused by a middleware
//		...
//	}
//	defer s.Manager().Close()
//	s.On("chat message", func(e *client.Event) {
//		var msg string
//		_ = e.Decode(&msg)
//	})
//	_ = s.Emit("chat message", "hello")
//	reply, err := s.Timeout(5*time.Second).EmitWithAck(ctx, "ping", 1)
//
// # Model
//
// A [Manager] is one connection to a server: an Engine.IO session over
// HTTP long-polling or WebSocket (polling upgraded to WebSocket by
// default). Several namespaces are multiplexed over it, each a [Socket]
// from [Manager.Socket]. The Manager opens the connection when a socket
// connects, reconnects with exponential backoff and jitter when it is
// lost, connects its sockets again after a reconnection, and closes the
// connection when no socket is left. [Connect] is the short form for one
// namespace on its own connection; a [Pool] shares Managers the way io()
// does.
//
// Arguments are encoded like encoding/json does, except that every []byte
// becomes a binary attachment. Received arguments stay raw JSON until a
// handler decodes them ([Args.Decode]); [Args.Spread] sends them back byte
// for byte.
//
// # Features (socket.io-client 4.8 → this package)
//
//	io(url, opts)                         Connect(ctx, url, opts, sopts); Pool.Socket (cache, forceNew, multiplex)
//	new Manager(url, opts)                NewManager(url, *Options)
//	manager.socket(nsp, {auth})           Manager.Socket(nsp, *SocketOptions) (Auth or AuthFunc)
//	transports, upgrade, rememberUpgrade  Options.Transports, DisableUpgrade, RememberUpgrade
//	path, query, extraHeaders             Options.Path, Query, ExtraHeaders
//	TLS options, agent                    Options.TLSConfig, HTTPClient, Dialer
//	timeout                               Options.Timeout (connect attempt)
//	reconnection*, randomizationFactor    Options.DisableReconnection, Reconnection*, RandomizationFactor
//	reconnect_attempt/_error/_failed, reconnect   Manager.OnReconnectAttempt/OnReconnectError/OnReconnectFailed/OnReconnect
//	socket.connect() / disconnect()       Socket.Connect(ctx) / Disconnect()
//	connect, disconnect, connect_error    Socket.OnConnect, OnDisconnect(reason), OnConnectError(err)
//	socket.id, connected, active, recovered   Socket.ID, Connected, Active, Recovered
//	emit(ev, ...args)                     Socket.Emit (buffered while disconnected)
//	emitWithAck / emit(..., cb)           Socket.EmitWithAck(ctx, ...)
//	timeout(ms).emitWithAck               Socket.Timeout(d).EmitWithAck(ctx, ...)
//	volatile.emit                         Socket.Volatile().Emit
//	ackTimeout, retries                   SocketOptions.AckTimeout, Retries (retry queue)
//	on, once, off                         Socket.On, Once (return an off func), Off(event)
//	onAny, prependAny, offAny             Socket.OnAny, PrependAny, OffAny
//	onAnyOutgoing, prependAnyOutgoing     Socket.OnAnyOutgoing, PrependAnyOutgoing, OffAnyOutgoing
//	ack callback of a server emit         Event.Ack
//	connection state recovery             automatic (pid/offset), Socket.Recovered
//	binary (Buffer, ArrayBuffer)          []byte at any depth
//
// # Concurrency
//
// Every method is safe for concurrent use. All the handlers of a Manager
// and of its sockets run one at a time, in the order the events happened,
// on a goroutine that exists only while there is work (the equivalent of
// the JavaScript event loop): for one socket, OnConnect runs before the
// events that follow the connection, and OnDisconnect after them.
//
// Handlers registered right after Connect returned see everything, as
// handlers registered right after io() do in JavaScript: an event for
// which no handler was ever registered on the socket (On, Once or OnAny)
// is kept, the first 32 of each connection, and handed to the first
// handler registered for it (they are dropped when the connection ends);
// an OnConnect registered on a connected socket runs for the current
// connection. So the welcome event a server emits in its connection
// handler is never lost, whether its handler was registered before or
// right after Connect.
// Acknowledgements are resolved on the read path, so a handler may wait
// in EmitWithAck without deadlocking; to let the next handlers run while
// it waits, as an async handler lets them in JavaScript, it calls
// [Event.Detach] first. Emit never blocks: packets are
// queued and written by one writer goroutine per connection.
// [Manager.Close] returns once every goroutine of the Manager has
// returned.
//
// # Limits
//
// A hostile server cannot make the client allocate without bound: a
// message (or a long-polling response) is limited to
// Options.MaxMessageSize, a packet to Options.MaxAttachments binary
// attachments, JSON nesting to 100 levels, and the events waiting for
// their handlers to Options.EventQueueSize. Going over closes the
// connection ("transport error" or "parse error") and the Manager
// reconnects.
//
// # Differences from socket.io-client
//
//   - Blocking calls take a context; acknowledgements are awaited with
//     EmitWithAck instead of a callback.
//   - Options.RandomizationFactor uses a negative value for "no jitter"
//     (zero is the default, 0.5).
//   - RememberUpgrade remembers the last transport per Manager, not per
//     process.
//   - OnDisconnect runs only for a socket that was connected (the
//     official client also emits "disconnect" for a socket still waiting
//     for the server's CONNECT reply).
//   - Manager.Close disconnects the sockets with "io client disconnect".
//   - With retries and an ack timeout, a try whose acknowledgement was
//     cancelled by a disconnection is not sent a second time when its old
//     timer expires after the reconnection (the official client can send
//     it twice).
//   - A failed Connect (ctx ended, refusal, reconnection exhausted) leaves
//     the socket inactive; the official connect() keeps trying in the
//     background.
package client
