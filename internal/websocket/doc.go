// Package websocket implements the WebSocket protocol (RFC 6455) for the
// Socket.IO server and client: the server side of the opening handshake
// (Upgrade), the client side (Dial), and message framing (Conn).
//
// The implementation is deliberately small. Subprotocols are never
// negotiated; the permessage-deflate extension (RFC 7692) is when both
// ends enable it (see CompressionOptions). Messages are read whole, with
// fragments reassembled, and written as single frames.
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
//   - the Conn itself, 160 bytes on 64-bit platforms, which embeds a 40-byte
//     read buffer for frame headers and bytes read ahead;
//   - the net.Conn: for TCP the net.TCPConn, its file descriptor wrapper
//     and the two addresses, a few hundred bytes (crypto/tls connections
//     keep their own, larger record buffers).
//
// There are no per-connection bufio buffers. While waiting for a frame,
// ReadMessage reads into the embedded buffer. A read that needs more borrows
// a 4 KiB buffer from a sync.Pool and gives it back before ReadMessage
// returns (unless more than 40 unread bytes remain, which are then parsed
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
// # Compression
//
// With permessage-deflate, messages of at least the threshold (1024 bytes
// by default) are sent compressed, unless Message.Uncompressed is set, and
// compressed messages received are inflated, at most up to the read limit:
// a message that would inflate beyond it closes the connection with
// StatusMessageTooBig however small it is on the wire.
//
// By default both ends are asked not to keep their compression context
// between messages (server_no_context_takeover and
// client_no_context_takeover). A compress/flate writer and reader are then
// taken from a pool for one message and returned at once, so an idle
// compressing connection keeps no more memory than one without
// compression (measured by TestIdleConnMemoryDeflate: about 0.8 KiB, as
// above). With CompressContextTakeover the connection keeps its flate
// writer, and with DecompressContextTakeover the last 32 KiB it
// decompressed: together, measured the same way, about 0.8 MiB per
// connection at the default level (more at flate.BestSpeed), which is why
// they are off by default.
//
// compress/flate always compresses with a 32 KiB window. A peer limiting
// this side's window (server_max_window_bits below 15 in a client's
// offer) is accepted, but messages are then sent uncompressed; the Dial
// side never offers client_max_window_bits, so a server cannot ask it.
//
// # Concurrency
//
// One goroutine may call ReadMessage at a time. WriteMessage,
// WriteMessages, Close, CloseNow and the other methods may be called
// concurrently with each other and with ReadMessage.
package websocket
