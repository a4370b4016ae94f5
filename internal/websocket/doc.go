// Package websocket implements the WebSocket protocol (RFC 6455) for the
// Socket.IO server and client: the server side of the opening handshake
// (Upgrade), the client side (Dial), and message framing (Conn).
//
// The implementation is deliberately small. Extensions (such as
// permessage-deflate) and subprotocols are never negotiated. Messages are
// read whole, with fragments reassembled, and written as single frames.
// Control frames are handled by ReadMessage: pings are answered, pongs are
// ignored and close frames are echoed.
//
// # Memory per idle connection
//
// The package is designed for servers holding many mostly idle
// connections, each with a goroutine blocked in ReadMessage. Such a
// connection pins, besides the goroutine (its stack and runtime descriptor)
// and the runtime's network poller entry:
//
//   - the Conn itself, 160 bytes on 64-bit platforms, which embeds a 48-byte
//     read buffer for frame headers and bytes read ahead;
//   - the net.Conn: for TCP the net.TCPConn, its file descriptor wrapper
//     and the two addresses, a few hundred bytes (crypto/tls connections
//     keep their own, larger record buffers).
//
// There are no per-connection bufio buffers. While waiting for a frame,
// ReadMessage reads into the embedded buffer. A read that needs more borrows
// a 4 KiB buffer from a sync.Pool and gives it back before ReadMessage
// returns (unless more than 48 unread bytes remain, which are then parsed
// by the next call) or before it blocks waiting for the next frame. Message
// payloads are allocated at their exact size (or grown while fragments are
// reassembled) and handed to the caller. Writers borrow a pooled buffer
// only for the duration of one write call.
//
// Upgrade copies out any bytes the client sent after its handshake and then
// detaches the 4 KiB read and write buffers of the hijacked net/http
// connection, so they are collectable even if the handler goroutine keeps
// running. Returning from the handler and calling ReadMessage in a new
// goroutine additionally lets the http.Request and the server's
// per-connection state go: measured by TestIdleConnMemory on linux/amd64,
// an idle connection then retains about 0.75 KiB of heap (1.25 KiB when
// the runtime must allocate a fresh goroutine descriptor), versus about
// 3.2 KiB when the handler itself blocks in ReadMessage; both figures
// include the test client's end of the loopback socket. Goroutine stacks
// (at least 2 KiB each, typically more) come on top.
//
// # Concurrency
//
// One goroutine may call ReadMessage at a time. WriteMessage,
// WriteMessages, Close, CloseNow and the other methods may be called
// concurrently with each other and with ReadMessage.
package websocket
