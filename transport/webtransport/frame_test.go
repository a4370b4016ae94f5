package webtransport

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/socketio-go/socketio/engineio"
)

// TestFrameHeaders checks the header sizes and bytes at each boundary,
// as engine.io-parser's createPacketEncoderStream writes them.
func TestFrameHeaders(t *testing.T) {
	for _, tc := range []struct {
		n      int
		binary bool
		hdr    []byte
	}{
		{1, false, []byte{1}},
		{125, false, []byte{125}},
		{125, true, []byte{0x80 | 125}},
		{126, false, []byte{126, 0, 126}},
		{65535, true, []byte{0x80 | 126, 0xff, 0xff}},
		{65536, false, []byte{127, 0, 0, 0, 0, 0, 1, 0, 0}},
	} {
		m := engineio.Message{Data: bytes.Repeat([]byte{'x'}, tc.n), Binary: tc.binary}
		b := appendFrame(nil, m)
		if !bytes.Equal(b[:len(tc.hdr)], tc.hdr) || len(b) != len(tc.hdr)+tc.n || frameLen(m) != len(b) {
			t.Fatalf("n=%d binary=%v: header % x, len %d (frameLen %d)", tc.n, tc.binary, b[:len(tc.hdr)], len(b), frameLen(m))
		}
		got, err := readFrame(bytes.NewReader(b), 1<<20)
		if err != nil || got.Binary != tc.binary || !bytes.Equal(got.Data, m.Data) {
			t.Fatalf("n=%d: read back %v, %v", tc.n, len(got.Data), err)
		}
	}
}

func TestFrameErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		max  int64
		want error
	}{
		{"empty text", []byte{0}, 100, engineio.ErrMalformedFrame},
		{"empty binary", []byte{0x80}, 100, engineio.ErrMalformedFrame},
		{"empty 16-bit", []byte{126, 0, 0}, 100, engineio.ErrMalformedFrame},
		{"2^53", []byte{127, 0, 0x20, 0, 0, 0, 0, 0, 0}, 1 << 62, engineio.ErrMalformedFrame},
		{"over max", []byte{101}, 100, engineio.ErrPayloadTooLarge},
		{"over max 64-bit", []byte{127, 0, 0, 0, 1, 0, 0, 0, 0}, 1 << 20, engineio.ErrPayloadTooLarge},
		{"eof", nil, 100, io.EOF},
		{"eof in header", []byte{126, 1}, 100, io.ErrUnexpectedEOF},
		{"eof in payload", []byte{5, '4', 'a'}, 100, io.ErrUnexpectedEOF},
	} {
		_, err := readFrame(bytes.NewReader(tc.in), tc.max)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// The largest length below 2^53 is only refused for its size.
	_, err := readFrame(bytes.NewReader([]byte{127, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), 1<<62)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("2^53-1: %v", err)
	}
}

// FuzzDecodeFrames decodes arbitrary bytes as a stream of frames: each
// frame read spans a header of 1, 3 or 9 bytes then exactly its payload,
// within the limits; a clean end of stream comes only between frames;
// and a frame encoded by appendFrame reads back the same.
func FuzzDecodeFrames(f *testing.F) {
	f.Add([]byte("\x064hello\x83\x01\x02\x03"), int64(100))
	f.Add(appendFrame(nil, engineio.Message{Data: []byte(strings.Repeat("a", 300))}), int64(1000))
	f.Add([]byte{127, 0, 0, 0, 0, 0, 1, 0, 0}, int64(1<<20))
	f.Add([]byte{126, 0, 1, '6'}, int64(10))
	f.Add([]byte{0}, int64(10))
	f.Fuzz(func(t *testing.T, in []byte, max int64) {
		if max <= 0 || max > 1<<20 {
			max = 1 << 20
		}
		r := bytes.NewReader(in)
		start := 0
		for {
			m, err := readFrame(r, max)
			end := len(in) - r.Len()
			if err != nil {
				if err == io.EOF && start != len(in) {
					t.Fatalf("io.EOF inside a frame at %d of %d", start, len(in))
				}
				break
			}
			if len(m.Data) == 0 || int64(len(m.Data)) > max {
				t.Fatalf("accepted a frame of %d bytes (max %d)", len(m.Data), max)
			}
			seg := in[start:end]
			hdr := len(seg) - len(m.Data)
			if (hdr != 1 && hdr != 3 && hdr != 9) || !bytes.Equal(seg[hdr:], m.Data) || m.Binary != (seg[0]&0x80 != 0) {
				t.Fatalf("frame %q read from % x", m.Data, seg)
			}
			back, err := readFrame(bytes.NewReader(appendFrame(nil, m)), max)
			if err != nil || back.Binary != m.Binary || !bytes.Equal(back.Data, m.Data) {
				t.Fatalf("re-encoded frame reads back %v, %v", back, err)
			}
			start = end
		}
	})
}
