package websocket

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// discardConn is a net.Conn whose writes succeed without doing anything.
type discardConn struct{ memConn }

func (*discardConn) Write(p []byte) (int, error) { return len(p), nil }

func BenchmarkWriteMessages(b *testing.B) {
	for _, client := range []bool{false, true} {
		for _, frames := range []int{1, 8, 64} {
			side := "server"
			if client {
				side = "client"
			}
			b.Run(fmt.Sprintf("%s/frames=%d", side, frames), func(b *testing.B) {
				c := newConn(&discardConn{}, client, nil, 0)
				msgs := make([]Message, frames)
				total := 0
				for i := range msgs {
					msgs[i] = Message{Type: TextMessage, Data: payload(100, TextMessage, uint64(i))}
					total += len(msgs[i].Data)
				}
				b.SetBytes(int64(total))
				b.ReportAllocs()
				for b.Loop() {
					if err := c.WriteMessages(msgs); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkWriteMessageLarge(b *testing.B) {
	for _, client := range []bool{false, true} {
		b.Run(fmt.Sprintf("client=%v", client), func(b *testing.B) {
			c := newConn(&discardConn{}, client, nil, 0)
			data := payload(256<<10, BinaryMessage, 1)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.WriteMessage(BinaryMessage, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkReadMessage(b *testing.B) {
	for _, size := range []int{16, 100, 4 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			// A stream of masked client frames, read by a server Conn.
			var stream []byte
			for range max(1, (64<<10)/size) {
				stream = append(stream, encodeFrame(rawFrame{fin: true, op: opBinary, masked: true, payload: bytes.Repeat([]byte{'x'}, size)})...)
			}
			c := newConn(&memConn{r: &loopReader{data: stream}, w: io.Discard}, false, nil, 0)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.ReadMessage(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMask(b *testing.B) {
	data := make([]byte, 64<<10)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		maskBytes(0x12345678, 1, data)
	}
}

// BenchmarkDeflate measures writing and reading a compressible 4 KiB JSON
// text message with permessage-deflate at three levels, without context
// takeover (pooled compressors), against the uncompressed baseline.
func BenchmarkDeflate(b *testing.B) {
	msg := bytes.Repeat([]byte(`{"user":"alice","text":"hello there","room":"lobby","n":12345},`), 64)
	for _, level := range []int{0, 1, 6, 9} {
		name := fmt.Sprintf("level=%d", level)
		if level == 0 {
			name = "uncompressed"
		}
		b.Run("write/"+name, func(b *testing.B) {
			c := newConn(&discardConn{}, false, nil, 0)
			if level != 0 {
				c.dfl = newDeflateState(&CompressionOptions{Level: level}, true, false, false)
			}
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.WriteMessage(TextMessage, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("read/"+name, func(b *testing.B) {
			frame := rawFrame{fin: true, op: opText, masked: true, payload: msg}
			if level != 0 {
				frame.rsv = 4
				frame.payload = compressRaw(b, msg)
			}
			c := newConn(&memConn{r: &loopReader{data: encodeFrame(frame)}, w: io.Discard}, false, nil, 0)
			if level != 0 {
				c.dfl = newDeflateState(&CompressionOptions{}, true, false, false)
			}
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.ReadMessage(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
