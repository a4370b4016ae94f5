// Package socketio is a Socket.IO v4 server for Go, wire-compatible with the
// official JavaScript packages: any official client (browser, Node, Python,
// Java, Swift…) connects to it as to the Node "socket.io" 4.8 server.
//
// # Quick start
//
//	srv := socketio.NewServer(nil) // nil: the defaults of socket.io 4.x
//	srv.OnConnection(func(s *socketio.Socket) {
//		s.Join("lobby")
//		s.On("chat message", func(e *socketio.Event) {
//			var msg string
//			if e.Decode(&msg) == nil {
//				s.To("lobby").Emit("chat message", msg) // excludes the sender
//			}
//		})
//	})
//	http.Handle("/socket.io/", srv) // Server is an http.Handler
//	log.Fatal(http.ListenAndServe(":3000", nil))
//
// # Compatibility
//
//	Socket.IO protocol   v5 (socket.io 3.x and 4.x clients)
//	Engine.IO protocol   v4 (polling, websocket, upgrade)
//	Tested against       socket.io 4.8.4 and socket.io-client 4.8.4 (npm),
//	                     the official engine.io-protocol and
//	                     socket.io-protocol test suites
//
// # Model
//
// A client opens one Engine.IO connection (long-polling, WebSocket, or
// polling upgraded to WebSocket) and joins one or more [Namespace]s over it;
// each joined namespace is a [Socket] on the server. Sockets join rooms;
// broadcasts select sockets by room ([BroadcastOperator]). Events carry any
// number of JSON values and binary ([]byte) values at any depth;
// acknowledgements work both ways ([Event.Ack], [Socket.EmitWithAck]).
//
// Arguments stay in their wire form until a handler decodes them
// ([Event.Decode], [Args]), so unknown events cost no decoding and
// arguments passed on unchanged ([Args.Spread]) come out as they came in:
// each argument byte for byte, only the whitespace between arguments is not
// kept (the official server, which parses and serializes them again, also
// normalizes the whitespace inside them, numbers and escapes). Typed
// handlers ([Handle], [Handle2], [HandleAck0], [HandleAck], [HandleAck2])
// decode into Go types with encoding/json semantics.
//
// # Concurrency
//
// Every method is safe for concurrent use. The handlers of one socket
// (connection, events, middlewares, disconnection) start one at a time in
// arrival order on a goroutine that exists only while there is work;
// different sockets run in parallel. As in Node.js, where a socket's next
// events run while a handler awaits, a handler that waits on the network
// with its event's context ([Event.Context]) or calls [Event.Detach] lets
// the socket's next events start meanwhile. Acknowledgements are resolved
// on the connection's read path, so a handler may wait in EmitWithAck
// without deadlocking. Each connection has a bounded write queue written
// by at most one goroutine at a time; Emit never blocks. A connection that falls too
// far behind (Options.WriteQueueSize) is dropped with "transport error"
// after its volatile packets were dropped. A broadcast encodes its packet
// once for all recipients. See docs/concurrency.md.
//
// # Logging
//
// Failures are never silent. Options.Logger nil means slog.Default(), as
// net/http logs to the standard logger. A panic in a middleware or a
// handler is recovered and logged at Error with its stack (its connection
// is closed); a refused HTTP request ([Server.OnConnectionError]) and a
// socket error that no OnError handler takes (arguments that do not fit a
// typed handler) are logged at Warn, at most once per 10 s per kind with
// the count of those left out, the others at Debug: a server under attack
// does not flood its log.
//
// # Deliberate differences from the official server
//
//   - Browser pages of other origins are refused unless Options.CORS allows
//     them, on long-polling and on the WebSocket upgrade alike (the official
//     server accepts any WebSocket); clients without an Origin header
//     (non-browser clients) are always accepted.
//   - The write queue of a connection is bounded (the official one is not).
//   - A panicking handler is recovered; only its connection is closed.
//   - There is no default acknowledgement timeout: use a context deadline.
//   - permessage-deflate (Options.PerMessageDeflate, off by default as
//     upstream) keeps no compression context between messages unless asked,
//     so that idle connections stay small; Compress(false) is honoured over
//     WebSocket (engine.io 6.6 ignores it there).
//   - Engine.IO protocol v3 (socket.io 2.x clients) and JSONP are not
//     supported.
//   - Connection state recovery (Options.ConnectionStateRecovery) takes over
//     a half-open connection, recovers a client that sends no offset, and
//     bounds its memory; see docs/recovery.md.
package socketio
