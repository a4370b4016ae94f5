package websocket

import (
	"bytes"
	"errors"
	"io"
	"runtime/metrics"
	"testing"
	"unicode/utf8"
)

// FuzzReadFrames feeds arbitrary bytes as the client's stream into a server
// Conn and checks that reading never panics or hangs, respects the read
// limit and allocates a bounded amount of memory.
func FuzzReadFrames(f *testing.F) {
	masked := func(fr rawFrame) []byte { fr.masked = true; return encodeFrame(fr) }
	seeds := [][]byte{
		nil,
		masked(rawFrame{fin: true, op: opText, payload: []byte("hello")}),
		masked(rawFrame{fin: true, op: opBinary, payload: bytes.Repeat([]byte{0xAB}, 300)}),
		append(append(
			masked(rawFrame{op: opText, payload: []byte("frag")}),
			masked(rawFrame{fin: true, op: opPing, payload: []byte("p")})...),
			masked(rawFrame{fin: true, op: opContinuation, payload: []byte("ment")})...),
		masked(rawFrame{fin: true, op: opClose, payload: []byte{0x03, 0xe8, 'o', 'k'}}),
		masked(rawFrame{fin: true, op: opText, payload: []byte{0xff, 0xfe}}),
		encodeFrame(rawFrame{fin: true, op: opText, payload: []byte("unmasked")}),
		// Declares a huge payload that must not be allocated.
		{0x82, 0xff, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4},
		{0x82, 0xfe, 0xff, 0xff, 1, 2, 3, 4, 5},
		// Many empty continuation frames.
		bytes.Repeat(masked(rawFrame{op: opContinuation}), 20),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	const limit = 1024
	f.Fuzz(func(t *testing.T, data []byte) {
		allocBefore := heapAllocated()

		c := newConn(&memConn{r: bytes.NewReader(data), w: io.Discard}, false, nil, limit)
		var err error
		for messages := 0; ; messages++ {
			if messages > len(data) {
				t.Fatalf("read %d messages from %d bytes", messages, len(data))
			}
			var typ MessageType
			var msg []byte
			typ, msg, err = c.ReadMessage()
			if err != nil {
				break
			}
			if len(msg) > limit {
				t.Fatalf("message of %d bytes exceeds the limit", len(msg))
			}
			if typ == TextMessage && !utf8.Valid(msg) {
				t.Fatalf("invalid UTF-8 text message %q", msg)
			}
		}
		if _, _, err := c.ReadMessage(); !errors.Is(err, ErrClosed) {
			t.Fatalf("ReadMessage after %v = %v, want ErrClosed", err, err)
		}

		// Messages are at most limit bytes and reassembly at most doubles
		// that; everything else is small per frame. The constant absorbs
		// the allocator's accounting granularity (whole spans are counted
		// when a per-P cache is refilled) and test bookkeeping, while an
		// allocation sized by a declared frame length would still exceed
		// it.
		if alloc, bound := heapAllocated()-allocBefore, uint64(4*limit+64*len(data)+1<<20); alloc > bound {
			t.Fatalf("allocated %d bytes for %d input bytes, want <= %d", alloc, len(data), bound)
		}
	})
}

// heapAllocated returns the cumulative bytes allocated on the heap. Unlike
// runtime.ReadMemStats it does not stop the world, which keeps fuzzing fast.
func heapAllocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// FuzzInflate is FuzzReadFrames on a connection that negotiated
// permessage-deflate: compressed messages (RSV1) are inflated, and the
// decompressed size must respect the read limit whatever the input (no
// decompression bomb gets through), with or without a decompression
// history (context takeover, selected by the first input byte).
func FuzzInflate(f *testing.F) {
	masked := func(fr rawFrame) []byte { fr.masked = true; return encodeFrame(fr) }
	z := func(p []byte) []byte { return compressRaw(f, p) }
	zeros := append(z(make([]byte, 64<<10)), 0, 0, 0xff, 0xff)
	seeds := [][]byte{
		append([]byte{0}, masked(rawFrame{fin: true, rsv: 4, op: opText, payload: z([]byte("hello hello hello"))})...),
		append([]byte{1}, append(
			masked(rawFrame{fin: true, rsv: 4, op: opText, payload: z([]byte("context context"))}),
			masked(rawFrame{fin: true, rsv: 4, op: opText, payload: z([]byte("context context"))})...)...),
		append(append(append([]byte{0},
			masked(rawFrame{rsv: 4, op: opBinary, payload: z(bytes.Repeat([]byte{7}, 300))[:5]})...),
			masked(rawFrame{fin: true, op: opPing, payload: []byte("p")})...),
			masked(rawFrame{fin: true, op: opContinuation, payload: z(bytes.Repeat([]byte{7}, 300))[5:]})...),
		// Inflates past the limit.
		append([]byte{0}, masked(rawFrame{fin: true, rsv: 4, op: opBinary, payload: zeros})...),
		append([]byte{1}, masked(rawFrame{fin: true, rsv: 4, op: opBinary, payload: []byte{0xff, 0, 0}})...),
		append([]byte{0}, masked(rawFrame{fin: true, rsv: 4, op: opContinuation, payload: z([]byte("x"))})...),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	const limit = 1024
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		takeover := data[0]&1 != 0
		data = data[1:]
		allocBefore := heapAllocated()

		c := newConn(&memConn{r: bytes.NewReader(data), w: io.Discard}, false, nil, limit)
		c.dfl = newDeflateState(&CompressionOptions{}, true, false, takeover)
		var err error
		for messages := 0; ; messages++ {
			if messages > len(data) {
				t.Fatalf("read %d messages from %d bytes", messages, len(data))
			}
			var typ MessageType
			var msg []byte
			typ, msg, err = c.ReadMessage()
			if err != nil {
				break
			}
			if len(msg) > limit {
				t.Fatalf("message of %d bytes exceeds the limit", len(msg))
			}
			if typ == TextMessage && !utf8.Valid(msg) {
				t.Fatalf("invalid UTF-8 text message %q", msg)
			}
		}
		if _, _, err := c.ReadMessage(); !errors.Is(err, ErrClosed) {
			t.Fatalf("ReadMessage after %v = %v, want ErrClosed", err, err)
		}
		if len(c.dfl.hist) > windowSize {
			t.Fatalf("history of %d bytes", len(c.dfl.hist))
		}
		// As in FuzzReadFrames, plus a flate reader (about 40 KiB when the
		// pool is empty), output buffers up to twice the limit, and the
		// 32 KiB history.
		if alloc, bound := heapAllocated()-allocBefore, uint64(8*limit+64*len(data)+1<<20); alloc > bound {
			t.Fatalf("allocated %d bytes for %d input bytes, want <= %d", alloc, len(data), bound)
		}
	})
}
