package socketio_test

import (
	"compress/flate"
	"net/http"

	"github.com/socketio-go/socketio"
)

// Compression: permessage-deflate for WebSocket clients that offer it
// (browsers and socket.io-client do), at the fastest level; long-polling
// responses are compressed by default. Data that does not compress (an
// image) is sent with Compress(false).
func ExampleOptions_compression() {
	srv := socketio.NewServer(&socketio.Options{
		PerMessageDeflate: &socketio.PerMessageDeflateOptions{Level: flate.BestSpeed},
		// HTTPCompression: &socketio.HTTPCompressionOptions{Disable: true} would turn
		// off the compression of long-polling responses.
	})
	srv.OnConnection(func(s *socketio.Socket) {
		_ = s.Emit("welcome", "a message of more than 1024 bytes is compressed")
		var jpeg []byte // already compressed
		_ = s.Compress(false).Emit("avatar", jpeg)
	})
	http.Handle("/socket.io/", srv)
}
