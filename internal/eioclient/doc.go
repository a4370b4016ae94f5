// Package eioclient is the client side of Engine.IO protocol v4: the HTTP
// long-polling and WebSocket transports, the handshake, the heartbeat
// (answering the server's pings and detecting a silent server), and the
// upgrade from long-polling to WebSocket, as engine.io-client 6.6 does them.
//
// A [Conn] is one Engine.IO session. [Dial] performs the handshake and
// returns an open Conn; its messages are handed to the [Handler] in the
// order they were received, one at a time, from the Conn's own goroutines.
// [Conn.Send] queues packets and never blocks: a single writer goroutine
// writes them, several at a time (one POST per batch over long-polling,
// one write per batch over WebSocket). [Conn.Close] flushes the queue and
// closes the session; [Conn.Done] is closed once every goroutine of the
// Conn has returned.
//
// The package knows nothing of Socket.IO: message packets are passed
// through as they are.
package eioclient
