package webtransport

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/socketio-go/socketio/engineio"
)

// Engine.IO over WebTransport carries its packets on one bidirectional
// stream, each framed by a header inspired by WebSocket's: the payload
// length in one byte below 126, else 126 and a big-endian uint16, else 127
// and a big-endian uint64; the high bit of the first byte marks a binary
// payload (raw bytes), its absence a text one (the packet's text encoding,
// UTF-8).

// maxSafeLength is the largest length the official decoder accepts (it
// refuses 2^53 and above, beyond JavaScript's safe integers).
const maxSafeLength = 1<<53 - 1

// appendFrame appends m, framed, to dst.
func appendFrame(dst []byte, m engineio.Message) []byte {
	n := len(m.Data)
	var flag byte
	if m.Binary {
		flag = 0x80
	}
	switch {
	case n < 126:
		dst = append(dst, flag|byte(n))
	case n < 1<<16:
		dst = append(dst, flag|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, flag|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, m.Data...)
}

// frameLen returns the framed size of m.
func frameLen(m engineio.Message) int {
	switch n := len(m.Data); {
	case n < 126:
		return 1 + n
	case n < 1<<16:
		return 3 + n
	default:
		return 9 + n
	}
}

// readFrame reads one framed message from r. A length of zero, of 2^53 or
// more, or above maxPayload is refused as the official decoder refuses it:
// the error wraps engineio.ErrMalformedFrame, or engineio.ErrPayloadTooLarge
// for a length above maxPayload. An end of stream inside a frame is
// io.ErrUnexpectedEOF, before one io.EOF.
func readFrame(r io.Reader, maxPayload int64) (engineio.Message, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:1]); err != nil {
		return engineio.Message{}, err
	}
	m := engineio.Message{Binary: hdr[0]&0x80 != 0}
	var n uint64
	switch l := hdr[0] & 0x7f; l {
	case 126:
		if _, err := io.ReadFull(r, hdr[:2]); err != nil {
			return engineio.Message{}, noEOF(err)
		}
		n = uint64(binary.BigEndian.Uint16(hdr[:2]))
	case 127:
		if _, err := io.ReadFull(r, hdr[:8]); err != nil {
			return engineio.Message{}, noEOF(err)
		}
		n = binary.BigEndian.Uint64(hdr[:8])
		if n > maxSafeLength {
			return engineio.Message{}, fmt.Errorf("webtransport: frame length %d: %w", n, engineio.ErrMalformedFrame)
		}
	default:
		n = uint64(l)
	}
	if n == 0 {
		return engineio.Message{}, fmt.Errorf("webtransport: empty frame: %w", engineio.ErrMalformedFrame)
	}
	if n > uint64(maxPayload) {
		return engineio.Message{}, fmt.Errorf("webtransport: frame of %d bytes, limit %d: %w", n, maxPayload, engineio.ErrPayloadTooLarge)
	}
	// Grown as the payload arrives: a header alone does not make the
	// server allocate what it announces.
	m.Data = make([]byte, 0, min(n, readChunk))
	for uint64(len(m.Data)) < n {
		k := int(min(n-uint64(len(m.Data)), readChunk))
		m.Data = slices.Grow(m.Data, k)
		if _, err := io.ReadFull(r, m.Data[len(m.Data):len(m.Data)+k]); err != nil {
			return engineio.Message{}, noEOF(err)
		}
		m.Data = m.Data[:len(m.Data)+k]
	}
	return m, nil
}

// readChunk is how much of a payload is allocated ahead of its bytes.
const readChunk = 64 << 10

// noEOF turns an end of stream inside a frame into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
