package websocket

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAcceptDeflate(t *testing.T) {
	def := &CompressionOptions{}
	takeover := &CompressionOptions{CompressContextTakeover: true, DecompressContextTakeover: true}
	const both = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
	for _, tc := range []struct {
		name   string
		offers []string
		opts   *CompressionOptions
		want   string // response; "" declines
		// expected state when accepted
		compress, cTake, dTake bool
	}{
		{"bare offer", []string{"permessage-deflate"}, def, both, true, false, false},
		{"browser offer", []string{"permessage-deflate; client_max_window_bits"}, def, both, true, false, false},
		{"ws client offer", []string{"permessage-deflate; client_max_window_bits=15"}, def, both, true, false, false},
		{"case and spaces", []string{"  Permessage-Deflate ;  Client_Max_Window_Bits "}, def, both, true, false, false},
		{"quoted value", []string{`permessage-deflate; client_max_window_bits="10"`}, def, both, true, false, false},
		{"not offered", []string{"x-webkit-deflate-frame"}, def, "", false, false, false},
		{"none", nil, def, "", false, false, false},
		{"unknown parameter", []string{"permessage-deflate; foo"}, def, "", false, false, false},
		{"repeated parameter", []string{"permessage-deflate; server_no_context_takeover; server_no_context_takeover"}, def, "", false, false, false},
		{"valued flag", []string{"permessage-deflate; server_no_context_takeover=1"}, def, "", false, false, false},
		{"window bits too small", []string{"permessage-deflate; client_max_window_bits=7"}, def, "", false, false, false},
		{"window bits too large", []string{"permessage-deflate; server_max_window_bits=16"}, def, "", false, false, false},
		{"window bits leading zero", []string{"permessage-deflate; server_max_window_bits=010"}, def, "", false, false, false},
		{"server window bits without value", []string{"permessage-deflate; server_max_window_bits"}, def, "", false, false, false},
		{"empty parameter", []string{"permessage-deflate; ; client_max_window_bits"}, def, "", false, false, false},
		{"first bad, second good", []string{"permessage-deflate; foo=1, permessage-deflate"}, def, both, true, false, false},
		{"second header value", []string{"foo", "permessage-deflate"}, def, both, true, false, false},
		{"server window 15", []string{"permessage-deflate; server_max_window_bits=15"}, def, both + "; server_max_window_bits=15", true, false, false},
		// compress/flate always uses a 32 KiB window: accepted, but the
		// server sends uncompressed messages only.
		{"server window 10", []string{"permessage-deflate; server_max_window_bits=10"}, def, both + "; server_max_window_bits=10", false, false, false},
		{"takeover allowed", []string{"permessage-deflate"}, takeover, "permessage-deflate", true, true, true},
		{"takeover refused by client", []string{"permessage-deflate; server_no_context_takeover"}, takeover, "permessage-deflate; server_no_context_takeover", true, false, true},
		{"client gives up its context", []string{"permessage-deflate; client_no_context_takeover"}, takeover, "permessage-deflate; client_no_context_takeover", true, true, false},
		{"object prototype names", []string{"permessage-deflate; constructor; toString=x, __proto__"}, def, "", false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, st := acceptDeflate(tc.offers, tc.opts)
			if got != tc.want {
				t.Fatalf("response %q, want %q", got, tc.want)
			}
			if (st != nil) != (tc.want != "") {
				t.Fatalf("state %v with response %q", st, got)
			}
			if st == nil {
				return
			}
			if st.compress != tc.compress || st.compressTakeover != tc.cTake || st.decompressTakeover != tc.dTake {
				t.Fatalf("state compress=%v compressTakeover=%v decompressTakeover=%v, want %v %v %v",
					st.compress, st.compressTakeover, st.decompressTakeover, tc.compress, tc.cTake, tc.dTake)
			}
			if st.threshold != 1024 {
				t.Fatalf("threshold %d, want the default 1024", st.threshold)
			}
		})
	}
}

func TestAcceptDeflateResponse(t *testing.T) {
	def := &CompressionOptions{}
	for _, tc := range []struct {
		resp    []string
		wantErr bool
		accept  bool
		dTake   bool
	}{
		{nil, false, false, false},
		{[]string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover"}, false, true, false},
		// The server may keep its context even when asked not to.
		{[]string{"permessage-deflate"}, false, true, true},
		{[]string{"permessage-deflate; server_max_window_bits=10; server_no_context_takeover"}, false, true, false},
		{[]string{"permessage-deflate; client_max_window_bits=10"}, true, false, false}, // not offered
		{[]string{"permessage-deflate; foo"}, true, false, false},
		{[]string{"permessage-deflate, permessage-deflate"}, true, false, false},
		{[]string{"x-other"}, true, false, false},
		{[]string{"permessage-deflate; server_no_context_takeover; server_no_context_takeover"}, true, false, false},
	} {
		st, err := acceptDeflateResponse(tc.resp, def)
		if (err != nil) != tc.wantErr || (st != nil) != tc.accept {
			t.Errorf("%q: state %v, err %v", tc.resp, st, err)
			continue
		}
		if st != nil && st.decompressTakeover != tc.dTake {
			t.Errorf("%q: decompressTakeover %v, want %v", tc.resp, st.decompressTakeover, tc.dTake)
		}
	}
}

// compressRaw compresses p as a permessage-deflate message payload.
func compressRaw(t testing.TB, p []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.BestCompression)
	fw.Write(p)
	fw.Flush()
	out := b.Bytes()
	if !bytes.HasSuffix(out, []byte{0, 0, 0xff, 0xff}) {
		t.Fatalf("flush did not end in 00 00 ff ff: % x", out)
	}
	return out[:len(out)-4]
}

// rawDeflateConn upgrades a raw client connection offering permessage-deflate
// and returns the server Conn, the raw client and the negotiated extension.
func rawDeflateConn(t *testing.T, sopts *UpgradeOptions, offer string) (*Conn, net.Conn, string) {
	t.Helper()
	ch := make(chan *Conn, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Upgrade(w, r, sopts)
		if err != nil {
			t.Errorf("Upgrade: %v", err)
			close(ch)
			return
		}
		ch <- c
	}))
	t.Cleanup(hs.Close)
	nc, err := net.Dial("tcp", strings.TrimPrefix(hs.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Extensions: %s\r\n\r\n", offer)
	resp, err := http.ReadResponse(bufio.NewReaderSize(nc, 512), nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	srv, ok := <-ch
	if !ok {
		t.FailNow()
	}
	t.Cleanup(func() { srv.CloseNow() })
	return srv, nc, resp.Header.Get("Sec-WebSocket-Extensions")
}

// TestDeflateFraming drives a server Conn with hand-made compressed frames.
func TestDeflateFraming(t *testing.T) {
	opts := &UpgradeOptions{ReadLimit: 1 << 16, Compression: &CompressionOptions{}}
	text := []byte(strings.Repeat("hello compressed world ", 100))
	z := compressRaw(t, text)

	t.Run("declined without option", func(t *testing.T) {
		_, _, ext := rawDeflateConn(t, &UpgradeOptions{}, "permessage-deflate")
		if ext != "" {
			t.Fatalf("extension %q negotiated without Compression", ext)
		}
	})

	t.Run("fragmented with control frames between", func(t *testing.T) {
		srv, nc, ext := rawDeflateConn(t, opts, "permessage-deflate; client_max_window_bits")
		if ext != "permessage-deflate; server_no_context_takeover; client_no_context_takeover" {
			t.Fatalf("extension %q", ext)
		}
		third := len(z) / 3
		writeRaw(t, nc,
			rawFrame{rsv: 4, op: opText, masked: true, payload: z[:third]},
			rawFrame{fin: true, op: opPing, masked: true, payload: []byte("p")},
			rawFrame{op: opContinuation, masked: true, payload: z[third : 2*third]},
			rawFrame{fin: true, op: opPong, masked: true},
			rawFrame{fin: true, op: opContinuation, masked: true, payload: z[2*third:]},
			// An uncompressed message after it, and a compressed binary one.
			rawFrame{fin: true, op: opText, masked: true, payload: []byte("plain")},
			rawFrame{fin: true, rsv: 4, op: opBinary, masked: true, payload: compressRaw(t, []byte{1, 2, 3})},
		)
		if typ, data := mustRead(t, srv); typ != TextMessage || !bytes.Equal(data, text) {
			t.Fatalf("got %v %.40q", typ, data)
		}
		if f := readRaw(t, nc); f.op != opPong || string(f.payload) != "p" {
			t.Fatalf("got %+v, want the pong", f)
		}
		if _, data := mustRead(t, srv); string(data) != "plain" {
			t.Fatalf("got %q", data)
		}
		if typ, data := mustRead(t, srv); typ != BinaryMessage || !bytes.Equal(data, []byte{1, 2, 3}) {
			t.Fatalf("got %v %v", typ, data)
		}
	})

	for _, tc := range []struct {
		name   string
		frames []rawFrame
		code   int
	}{
		{"RSV1 on continuation", []rawFrame{
			{rsv: 4, op: opText, masked: true, payload: z[:10]},
			{fin: true, rsv: 4, op: opContinuation, masked: true, payload: z[10:]},
		}, StatusProtocolError},
		{"RSV1 on control frame", []rawFrame{{fin: true, rsv: 4, op: opPing, masked: true}}, StatusProtocolError},
		{"RSV2", []rawFrame{{fin: true, rsv: 2, op: opText, masked: true, payload: z}}, StatusProtocolError},
		{"corrupt data", []rawFrame{{fin: true, rsv: 4, op: opText, masked: true, payload: []byte{0xff, 0xff, 0xff}}}, StatusInvalidPayload},
		{"invalid UTF-8 inside", []rawFrame{{fin: true, rsv: 4, op: opText, masked: true, payload: compressRaw(t, []byte{0xff, 0xfe})}}, StatusInvalidPayload},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, nc, _ := rawDeflateConn(t, opts, "permessage-deflate")
			res := readAsync(srv)
			writeRaw(t, nc, tc.frames...)
			if f := readRaw(t, nc); f.op != opClose || closeCode(f.payload) != tc.code {
				t.Fatalf("got %+v, want close %d", f, tc.code)
			}
			nc.Close() // ends the server's lingering close
			if err := await(t, res).err; err == nil {
				t.Fatal("no read error")
			}
		})
	}

	t.Run("RSV1 without the extension", func(t *testing.T) {
		srv, nc, _ := rawDeflateConn(t, opts, "x-unknown")
		res := readAsync(srv)
		writeRaw(t, nc, rawFrame{fin: true, rsv: 4, op: opText, masked: true, payload: z})
		if f := readRaw(t, nc); f.op != opClose || closeCode(f.payload) != StatusProtocolError {
			t.Fatalf("got %+v, want close 1002", f)
		}
		nc.Close()
		await(t, res)
	})
}

// TestDeflateBomb sends a message of a few KiB that inflates far beyond the
// read limit: the reader stops at the limit and closes with 1009.
func TestDeflateBomb(t *testing.T) {
	const limit = 1 << 20
	srv, nc, _ := rawDeflateConn(t, &UpgradeOptions{ReadLimit: limit, Compression: &CompressionOptions{}}, "permessage-deflate")
	// 64 MiB of zeros: one compressed MiB of zeros repeated (each piece
	// ends with a sync flush, so the pieces concatenate into one valid
	// stream), about a thousand times smaller than its output.
	piece := compressRaw(t, make([]byte, 1<<20))
	piece = append(piece, 0, 0, 0xff, 0xff)
	bomb := bytes.Repeat(piece, 64)
	bomb = bomb[:len(bomb)-4]
	t.Logf("%d compressed bytes", len(bomb))
	before := heapAllocated()
	res := readAsync(srv)
	writeRaw(t, nc, rawFrame{fin: true, rsv: 4, op: opBinary, masked: true, payload: bomb})
	if f := readRaw(t, nc); f.op != opClose || closeCode(f.payload) != StatusMessageTooBig {
		t.Fatalf("got %+v, want close 1009", f)
	}
	nc.Close()
	if err := await(t, res).err; !errors.Is(err, ErrMessageTooBig) {
		t.Fatalf("read error %v, want ErrMessageTooBig", err)
	}
	// The compressed payload, the output up to the limit (grown by
	// doubling) and a flate reader.
	if alloc := heapAllocated() - before; alloc > 4*limit {
		t.Fatalf("allocated %d bytes reading a bomb with a %d-byte limit", alloc, limit)
	}

	// Exactly at the limit is fine.
	srv, nc, _ = rawDeflateConn(t, &UpgradeOptions{ReadLimit: limit, Compression: &CompressionOptions{}}, "permessage-deflate")
	writeRaw(t, nc, rawFrame{fin: true, rsv: 4, op: opBinary, masked: true, payload: compressRaw(t, make([]byte, limit))})
	if _, data := mustRead(t, srv); len(data) != limit {
		t.Fatalf("read %d bytes, want %d", len(data), limit)
	}
}

// TestDeflateRoundTrip sends messages both ways between Dial and Upgrade
// with compression, with and without context takeover, and checks the
// RSV1 bit on the wire against the threshold and the per-message opt-out.
func TestDeflateRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts CompressionOptions
	}{
		{"no context takeover", CompressionOptions{}},
		{"context takeover", CompressionOptions{CompressContextTakeover: true, DecompressContextTakeover: true}},
		{"best speed, threshold 0", CompressionOptions{Level: flate.BestSpeed, Threshold: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			srv, cli := newPair(t, &UpgradeOptions{Compression: &o}, &DialOptions{Compression: &o})
			if srv.dfl == nil || cli.dfl == nil {
				t.Fatal("compression not negotiated")
			}
			if srv.dfl.compressTakeover != o.CompressContextTakeover || cli.dfl.decompressTakeover != o.CompressContextTakeover {
				t.Fatalf("takeover: server %v, client %v", srv.dfl.compressTakeover, cli.dfl.decompressTakeover)
			}
			msgs := [][]byte{
				[]byte("short"),
				bytes.Repeat([]byte("abcdefgh"), 200),
				payload(100_000, BinaryMessage, 1),
				bytes.Repeat([]byte("abcdefgh"), 200), // context takeover helps here
				payload(50_000, TextMessage, 2),
				{},
			}
			for i, m := range msgs {
				typ := MessageType(1 + i%2)
				if typ == TextMessage {
					m = bytes.ToValidUTF8(m, []byte("?"))
				}
				for _, dir := range []struct{ from, to *Conn }{{srv, cli}, {cli, srv}} {
					res := readAsync(dir.to)
					if err := dir.from.WriteMessage(typ, m); err != nil {
						t.Fatal(err)
					}
					r := await(t, res)
					if r.err != nil || r.typ != typ || !bytes.Equal(r.data, m) {
						t.Fatalf("message %d: got %v %d bytes, err %v", i, r.typ, len(r.data), r.err)
					}
				}
			}
		})
	}

	t.Run("RSV1 on the wire", func(t *testing.T) {
		srv, nc, _ := rawDeflateConn(t, &UpgradeOptions{Compression: &CompressionOptions{}}, "permessage-deflate")
		big := bytes.Repeat([]byte("x"), 1024)
		for _, tc := range []struct {
			msg  Message
			rsv1 bool
		}{
			{Message{Type: TextMessage, Data: big[:1023]}, false},
			{Message{Type: TextMessage, Data: big}, true},
			{Message{Type: TextMessage, Data: big, Uncompressed: true}, false},
			{Message{Type: BinaryMessage, Data: bytes.Repeat(big, 20)}, true}, // the writev path
		} {
			if err := srv.WriteMessages([]Message{tc.msg}); err != nil {
				t.Fatal(err)
			}
			f := readRaw(t, nc)
			if got := f.rsv&4 != 0; got != tc.rsv1 {
				t.Fatalf("%d bytes, uncompressed %v: RSV1 %v, want %v", len(tc.msg.Data), tc.msg.Uncompressed, got, tc.rsv1)
			}
			data := f.payload
			if tc.rsv1 {
				if len(data) >= len(tc.msg.Data) {
					t.Fatalf("compressed %d bytes to %d", len(tc.msg.Data), len(data))
				}
				data, _ = io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(data), bytes.NewReader(deflateTail))))
			}
			if !bytes.Equal(data, tc.msg.Data) {
				t.Fatalf("payload differs")
			}
		}
	})

	t.Run("limited server window: sent uncompressed", func(t *testing.T) {
		srv, nc, ext := rawDeflateConn(t, &UpgradeOptions{Compression: &CompressionOptions{}}, "permessage-deflate; server_max_window_bits=9")
		if !strings.Contains(ext, "server_max_window_bits=9") {
			t.Fatalf("extension %q", ext)
		}
		if err := srv.WriteMessage(TextMessage, bytes.Repeat([]byte("y"), 5000)); err != nil {
			t.Fatal(err)
		}
		if f := readRaw(t, nc); f.rsv != 0 || len(f.payload) != 5000 {
			t.Fatalf("got rsv %d, %d bytes", f.rsv, len(f.payload))
		}
		// The client may still compress.
		writeRaw(t, nc, rawFrame{fin: true, rsv: 4, op: opText, masked: true, payload: compressRaw(t, []byte("in"))})
		if _, data := mustRead(t, srv); string(data) != "in" {
			t.Fatalf("got %q", data)
		}
	})
}
