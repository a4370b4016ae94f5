package websocket

import (
	"compress/flate"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
)

// CompressionOptions enables the permessage-deflate extension (RFC 7692)
// and configures it. It is used by Upgrade (to accept a client's offer) and
// by Dial (to make an offer).
//
// By default neither side keeps its compression context between messages
// (the server_no_context_takeover and client_no_context_takeover
// parameters are negotiated), so that compressors and decompressors are
// borrowed from pools for the time of one message and an idle connection
// holds none of their memory. See the package documentation for the cost
// of context takeover.
type CompressionOptions struct {
	// Threshold is the size in bytes below which messages are sent
	// uncompressed (RSV1 clear). Zero means 1024, the default of the
	// official server; a negative value compresses every message.
	Threshold int
	// Level is the compress/flate level used for outgoing messages. Zero
	// means flate.DefaultCompression, as zlib's default in the official
	// server.
	Level int
	// CompressContextTakeover keeps this side's compressor, and with it its
	// 32 KiB window, between messages: better ratios for streams of
	// similar messages, at a memory cost of several hundred KiB per
	// connection (a compress/flate writer). False (the default) asks for
	// no context takeover for the messages this side sends.
	CompressContextTakeover bool
	// DecompressContextTakeover lets the peer keep its compression context
	// between messages: this side then keeps the last 32 KiB of the
	// messages it decompressed for each connection. False (the default)
	// asks the peer not to keep its context.
	DecompressContextTakeover bool
}

// Extension negotiation parameters (RFC 7692, section 7.1).
const (
	extDeflate              = "permessage-deflate"
	paramServerNoTakeover   = "server_no_context_takeover"
	paramClientNoTakeover   = "client_no_context_takeover"
	paramServerMaxWindow    = "server_max_window_bits"
	paramClientMaxWindow    = "client_max_window_bits"
	defaultDeflateThreshold = 1024
	// maxWindowBits is the LZ77 window compress/flate always uses; it
	// cannot compress for a smaller window.
	maxWindowBits = 15
	windowSize    = 1 << maxWindowBits
)

// rsv1Bit is the frame header bit marking a compressed message.
const rsv1Bit = 0x40

// deflateState is the permessage-deflate state of a connection that
// negotiated the extension.
type deflateState struct {
	// compress is false when the peer limited this side's window below
	// what compress/flate uses: messages are then sent uncompressed,
	// which the extension always allows.
	compress  bool
	threshold int
	level     int
	// compressTakeover and decompressTakeover: contexts are kept between
	// messages on the sending and receiving side respectively.
	compressTakeover   bool
	decompressTakeover bool

	// w is the compressor kept with compressTakeover; guarded by the
	// connection's write lock.
	w *deflater
	// hist holds the last decompressed bytes (up to windowSize) with
	// decompressTakeover; owned by the reading goroutine.
	hist []byte
}

// newDeflateState returns the state for the negotiated parameters.
func newDeflateState(o *CompressionOptions, compress, compressTakeover, decompressTakeover bool) *deflateState {
	d := &deflateState{
		compress:           compress,
		threshold:          o.Threshold,
		level:              o.Level,
		compressTakeover:   compressTakeover,
		decompressTakeover: decompressTakeover,
	}
	if d.threshold == 0 {
		d.threshold = defaultDeflateThreshold
	}
	if d.level == 0 {
		d.level = flate.DefaultCompression
	}
	return d
}

// checkCompressionOptions reports an invalid level.
func checkCompressionOptions(o *CompressionOptions) error {
	if o != nil && o.Level != 0 && (o.Level < flate.HuffmanOnly || o.Level > flate.BestCompression) {
		return errors.New("websocket: invalid compression level " + strconv.Itoa(o.Level))
	}
	return nil
}

// extParam is one parameter of an extension offer or response.
type extParam struct {
	name, value string
	hasValue    bool
}

// parseExtensions parses Sec-WebSocket-Extensions header values into the
// parameter lists of the permessage-deflate entries, in order. Entries of
// other extensions are skipped. A syntactically broken entry yields nil
// parameters and ok false.
func parseExtensions(values []string) (offers [][]extParam, oks []bool) {
	for _, v := range values {
		for v != "" {
			var entry string
			entry, v, _ = strings.Cut(v, ",")
			name, rest, _ := strings.Cut(entry, ";")
			if !strings.EqualFold(strings.TrimSpace(name), extDeflate) {
				continue
			}
			var params []extParam
			ok := true
			for rest != "" {
				var p string
				p, rest, _ = strings.Cut(rest, ";")
				n, val, has := strings.Cut(p, "=")
				n = strings.TrimSpace(n)
				val = strings.TrimSpace(val)
				if has && len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
					val = val[1 : len(val)-1]
				}
				if n == "" || (has && val == "") {
					ok = false
				}
				params = append(params, extParam{name: strings.ToLower(n), value: val, hasValue: has})
			}
			offers = append(offers, params)
			oks = append(oks, ok)
		}
	}
	return offers, oks
}

// windowBits parses a max_window_bits value: 8 to 15.
func windowBits(v string) (int, bool) {
	if len(v) == 0 || len(v) > 2 || v[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 8 && n <= 15
}

// acceptDeflate chooses the first permessage-deflate offer in the request
// header values that this server can honour and returns the response
// extension header value and the connection's state; ("", nil) declines
// every offer. Offers with unknown, repeated or malformed parameters are
// declined (RFC 7692, section 5). An offer limiting the server's window
// below 15 bits (server_max_window_bits) is accepted, but the server then
// sends every message uncompressed: compress/flate cannot compress for a
// smaller window, and an uncompressed message is valid on any
// permessage-deflate connection.
func acceptDeflate(values []string, o *CompressionOptions) (string, *deflateState) {
	offers, oks := parseExtensions(values)
offers:
	for i, params := range offers {
		if !oks[i] {
			continue
		}
		var (
			seen          = map[string]bool{}
			serverNo      bool
			clientNo      bool
			serverBits    = maxWindowBits
			serverBitsSet bool
		)
		for _, p := range params {
			if seen[p.name] {
				continue offers
			}
			seen[p.name] = true
			switch p.name {
			case paramServerNoTakeover:
				if p.hasValue {
					continue offers
				}
				serverNo = true
			case paramClientNoTakeover:
				if p.hasValue {
					continue offers
				}
				clientNo = true
			case paramServerMaxWindow:
				n, ok := windowBits(p.value)
				if !ok {
					continue offers
				}
				serverBits, serverBitsSet = n, true
			case paramClientMaxWindow:
				// Only a hint that the client supports the parameter; the
				// server never limits the client's window (decompression
				// works with any window up to 15 bits).
				if p.hasValue {
					if _, ok := windowBits(p.value); !ok {
						continue offers
					}
				}
			default:
				continue offers
			}
		}
		compressTakeover := o.CompressContextTakeover && !serverNo
		decompressTakeover := o.DecompressContextTakeover && !clientNo
		resp := extDeflate
		if !compressTakeover {
			// A server may add this parameter even if the offer lacked it.
			resp += "; " + paramServerNoTakeover
		}
		if !decompressTakeover {
			resp += "; " + paramClientNoTakeover
		}
		if serverBitsSet {
			resp += "; " + paramServerMaxWindow + "=" + strconv.Itoa(serverBits)
		}
		return resp, newDeflateState(o, serverBits == maxWindowBits, compressTakeover, decompressTakeover)
	}
	return "", nil
}

// deflateOffer returns the client's permessage-deflate offer. The client
// does not offer client_max_window_bits, so the server cannot limit the
// client's window below what compress/flate needs.
func deflateOffer(o *CompressionOptions) string {
	offer := extDeflate
	if !o.DecompressContextTakeover {
		offer += "; " + paramServerNoTakeover
	}
	if !o.CompressContextTakeover {
		offer += "; " + paramClientNoTakeover
	}
	return offer
}

// acceptDeflateResponse checks the server's answer to the client's offer:
// it may select permessage-deflate once, with valid parameters only.
// It returns nil state if the server declined the extension.
func acceptDeflateResponse(values []string, o *CompressionOptions) (*deflateState, error) {
	offers, oks := parseExtensions(values)
	for _, v := range values {
		// Any other extension was not offered.
		for v != "" {
			var entry string
			entry, v, _ = strings.Cut(v, ",")
			name, _, _ := strings.Cut(entry, ";")
			if name = strings.TrimSpace(name); name != "" && !strings.EqualFold(name, extDeflate) {
				return nil, errors.New("server selected an extension that was not offered")
			}
		}
	}
	switch len(offers) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, errors.New("server selected permessage-deflate more than once")
	}
	if !oks[0] {
		return nil, errors.New("malformed permessage-deflate response")
	}
	seen := map[string]bool{}
	serverNo, clientNo := false, false
	for _, p := range offers[0] {
		if seen[p.name] {
			return nil, errors.New("repeated permessage-deflate parameter " + p.name)
		}
		seen[p.name] = true
		switch p.name {
		case paramServerNoTakeover, paramClientNoTakeover:
			if p.hasValue {
				return nil, errors.New("invalid permessage-deflate parameter " + p.name)
			}
			if p.name == paramServerNoTakeover {
				serverNo = true
			} else {
				clientNo = true
			}
		case paramServerMaxWindow:
			// The server's window: any size decompresses.
			if _, ok := windowBits(p.value); !ok {
				return nil, errors.New("invalid permessage-deflate parameter " + p.name)
			}
		default:
			// Including client_max_window_bits, which was not offered.
			return nil, errors.New("unexpected permessage-deflate parameter " + p.name)
		}
	}
	// Without server_no_context_takeover in the answer the server keeps
	// its context (its right even if the offer asked otherwise): the
	// client then keeps a history to decompress with.
	return newDeflateState(o, true, !clientNo && o.CompressContextTakeover, !serverNo), nil
}

// ---------------------------------------------------------------------------
// Compression

// sliceWriter is an io.Writer appending to a slice.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// deflater is a flate writer with its output.
type deflater struct {
	fw  *flate.Writer
	out sliceWriter
}

// deflaterPools holds *deflater per level (index level+2).
var deflaterPools [flate.BestCompression + 3]sync.Pool

func newDeflater(level int) *deflater {
	d := &deflater{}
	d.fw, _ = flate.NewWriter(&d.out, level) // the level was checked
	return d
}

// shouldCompress reports whether a message of n bytes is sent compressed.
func (d *deflateState) shouldCompress(n int, uncompressed bool) bool {
	return d.compress && !uncompressed && n >= d.threshold
}

// appendCompressed appends the compressed form of data to dst: a raw
// DEFLATE stream ending in a sync flush whose final 4 bytes (00 00 ff ff)
// are removed (RFC 7692, section 7.2.1). The caller holds the write lock.
func (d *deflateState) appendCompressed(dst, data []byte) []byte {
	var dw *deflater
	if d.compressTakeover {
		if d.w == nil {
			d.w = newDeflater(d.level)
		}
		dw = d.w
	} else if v := deflaterPools[d.level+2].Get(); v != nil {
		dw = v.(*deflater)
		dw.fw.Reset(&dw.out)
	} else {
		dw = newDeflater(d.level)
	}
	dw.out.b = dst
	// Writes to a sliceWriter cannot fail.
	_, _ = dw.fw.Write(data)
	_ = dw.fw.Flush()
	out := dw.out.b
	dw.out.b = nil
	if !d.compressTakeover {
		deflaterPools[d.level+2].Put(dw)
	}
	return out[:len(out)-4]
}

// ---------------------------------------------------------------------------
// Decompression

// deflateTail completes a message's DEFLATE data: the 4 bytes the sender
// removed, then an empty final stored block so that the reader ends with
// io.EOF.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// inflateSource yields a message's data, then deflateTail. It is an
// io.ByteReader so that flate does not add a buffer of its own.
type inflateSource struct {
	data []byte
	tail int
}

func (s *inflateSource) Read(p []byte) (int, error) {
	if len(s.data) > 0 {
		n := copy(p, s.data)
		s.data = s.data[n:]
		return n, nil
	}
	if s.tail == len(deflateTail) {
		return 0, io.EOF
	}
	n := copy(p, deflateTail[s.tail:])
	s.tail += n
	return n, nil
}

func (s *inflateSource) ReadByte() (byte, error) {
	if len(s.data) > 0 {
		b := s.data[0]
		s.data = s.data[1:]
		return b, nil
	}
	if s.tail == len(deflateTail) {
		return 0, io.EOF
	}
	b := deflateTail[s.tail]
	s.tail++
	return b, nil
}

// inflater is a pooled flate reader with its source.
type inflater struct {
	fr  io.ReadCloser
	src inflateSource
}

var inflaterPool sync.Pool // *inflater

// errInflatedTooBig reports a message that decompresses to more than the
// read limit.
var errInflatedTooBig = errors.New("decompressed message too big")

// inflate decompresses a message's payload, producing at most limit bytes:
// beyond that it stops and returns errInflatedTooBig, so that a small
// message cannot make the reader allocate more than the read limit (a
// decompression bomb). Only the reading goroutine calls it.
func (d *deflateState) inflate(data []byte, limit int64) ([]byte, error) {
	inf, _ := inflaterPool.Get().(*inflater)
	if inf == nil {
		inf = &inflater{}
	}
	inf.src = inflateSource{data: data}
	var dict []byte
	if d.decompressTakeover {
		dict = d.hist
	}
	if inf.fr == nil {
		inf.fr = flate.NewReaderDict(&inf.src, dict)
	} else {
		_ = inf.fr.(flate.Resetter).Reset(&inf.src, dict) // cannot fail
	}
	defer func() {
		inf.src = inflateSource{}
		inflaterPool.Put(inf)
	}()

	// Inflate into a pooled scratch buffer, grown by doubling but never
	// past limit+1 bytes (one more than allowed, to detect an excess), then
	// hand the caller a copy of the exact size.
	ceiling := limit + 1
	sp := writePool.Get().(*[]byte)
	buf := (*sp)[:0]
	defer func() {
		if cap(buf) <= maxPooledWriteBuf {
			*sp = buf[:0]
			writePool.Put(sp)
		}
	}()
	if int64(cap(buf)) > ceiling {
		buf = buf[:0:ceiling]
	}
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) >= ceiling {
				return nil, errInflatedTooBig
			}
			grown := make([]byte, len(buf), min(ceiling, int64(max(2*cap(buf), 4*len(data), 4096))))
			copy(grown, buf)
			buf = grown
		}
		n, err := inf.fr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, errInflatedTooBig
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	out := make([]byte, len(buf))
	copy(out, buf)
	if d.decompressTakeover {
		d.remember(out)
	}
	return out, nil
}

// remember keeps the last windowSize bytes of the decompressed stream.
func (d *deflateState) remember(p []byte) {
	if len(p) >= windowSize {
		if cap(d.hist) < windowSize {
			d.hist = make([]byte, windowSize)
		}
		d.hist = d.hist[:windowSize]
		copy(d.hist, p[len(p)-windowSize:])
		return
	}
	if keep := windowSize - len(p); len(d.hist) > keep {
		d.hist = d.hist[:copy(d.hist, d.hist[len(d.hist)-keep:])]
	}
	d.hist = append(d.hist, p...)
}
