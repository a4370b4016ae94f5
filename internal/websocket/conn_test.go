package websocket

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// payload returns n deterministic bytes; for text it is valid UTF-8 made
// of multi-byte runes where possible.
func payload(n int, typ MessageType, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	b := make([]byte, 0, n)
	if typ == BinaryMessage {
		for range n {
			b = append(b, byte(r.Uint32()))
		}
		return b
	}
	for len(b) < n {
		ru := []rune{'a', 'é', '€', '😀'}[r.IntN(4)]
		if len(b)+utf8.RuneLen(ru) > n {
			ru = 'z'
		}
		b = utf8.AppendRune(b, ru)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	const limit = 4 << 20
	srv, cli := newPair(t, &UpgradeOptions{ReadLimit: limit}, &DialOptions{ReadLimit: limit})
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 100_000, 1 << 20}
	for _, dir := range []struct {
		name     string
		from, to *Conn
	}{{"client-to-server", cli, srv}, {"server-to-client", srv, cli}} {
		for _, typ := range []MessageType{TextMessage, BinaryMessage} {
			for _, n := range sizes {
				want := payload(n, typ, 1)
				errc := make(chan error, 1)
				go func() { errc <- dir.from.WriteMessage(typ, want) }()
				gotTyp, got := mustRead(t, dir.to)
				if err := await(t, errc); err != nil {
					t.Fatalf("%s %v %d: WriteMessage: %v", dir.name, typ, n, err)
				}
				if gotTyp != typ || !bytes.Equal(got, want) || got == nil {
					t.Fatalf("%s %v %d: got %v %d bytes", dir.name, typ, n, gotTyp, len(got))
				}
			}
		}
	}
}

func TestWriteMessagesBatch(t *testing.T) {
	const limit = 4 << 20
	srv, cli := newPair(t, &UpgradeOptions{ReadLimit: limit}, &DialOptions{ReadLimit: limit})
	// Small frames, frames around the direct-write threshold, and enough
	// data to force intermediate flushes.
	var msgs []Message
	for i, n := range []int{0, 5, 125, 126, 4000, directWriteSize - 1, directWriteSize, 70_000, 3, 200_000, 1, 9000} {
		typ := MessageType(1 + i%2)
		msgs = append(msgs, Message{Type: typ, Data: payload(n, typ, uint64(i))})
	}
	for i := range 300 {
		msgs = append(msgs, Message{Type: TextMessage, Data: []byte("m" + strconv.Itoa(i))})
	}
	for _, dir := range []struct {
		name     string
		from, to *Conn
	}{{"client-to-server", cli, srv}, {"server-to-client", srv, cli}} {
		errc := make(chan error, 1)
		go func() { errc <- dir.from.WriteMessages(msgs) }()
		for i, m := range msgs {
			typ, data := mustRead(t, dir.to)
			if typ != m.Type || !bytes.Equal(data, m.Data) {
				t.Fatalf("%s: message %d: got %v %d bytes, want %v %d bytes", dir.name, i, typ, len(data), m.Type, len(m.Data))
			}
		}
		if err := await(t, errc); err != nil {
			t.Fatalf("%s: WriteMessages: %v", dir.name, err)
		}
	}
	if err := cli.WriteMessages(nil); err != nil {
		t.Fatalf("WriteMessages(nil) = %v", err)
	}
	if err := cli.WriteMessages([]Message{{Type: 3}}); err == nil {
		t.Fatal("WriteMessages accepted an invalid type")
	}
}

func TestFragmentedMessage(t *testing.T) {
	srv, cli := newPair(t, nil, nil)
	res := readAsync(srv)
	// "€" is split across fragments: only the reassembled text is valid
	// UTF-8. A ping is interleaved, and an empty fragment is included.
	euro := []byte("€")
	writeRaw(t, cli.nc,
		rawFrame{op: opText, masked: true, payload: []byte("Hel")},
		rawFrame{fin: true, op: opPing, masked: true, payload: []byte("mid")},
		rawFrame{op: opContinuation, masked: true, payload: append([]byte("lo "), euro[0])},
		rawFrame{op: opContinuation, masked: true},
		rawFrame{fin: true, op: opContinuation, masked: true, payload: append(euro[1:], "!"...)},
	)
	if f := readRaw(t, cli.nc); f.op != opPong || f.masked || string(f.payload) != "mid" {
		t.Fatalf("got frame %+v, want unmasked pong \"mid\"", f)
	}
	r := await(t, res)
	if r.err != nil || r.typ != TextMessage || string(r.data) != "Hello €!" {
		t.Fatalf("got %v %q %v", r.typ, r.data, r.err)
	}

	// A long fragmented binary message, read by the client.
	res = readAsync(cli)
	want := payload(50_000, BinaryMessage, 7)
	var frames []rawFrame
	for i := 0; i < len(want); i += 10_000 {
		op := byte(opContinuation)
		if i == 0 {
			op = opBinary
		}
		frames = append(frames, rawFrame{fin: i+10_000 >= len(want), op: op, payload: want[i : i+10_000]})
	}
	writeRaw(t, srv.nc, frames...)
	r = await(t, res)
	if r.err != nil || r.typ != BinaryMessage || !bytes.Equal(r.data, want) {
		t.Fatalf("got %v %d bytes, %v", r.typ, len(r.data), r.err)
	}
}

func TestPingPong(t *testing.T) {
	srv, cli := newPair(t, nil, nil)

	// Server answers a client ping.
	res := readAsync(srv)
	writeRaw(t, cli.nc, rawFrame{fin: true, op: opPing, masked: true, payload: []byte("hello")})
	if f := readRaw(t, cli.nc); f.op != opPong || !f.fin || f.masked || string(f.payload) != "hello" {
		t.Fatalf("got frame %+v, want unmasked pong \"hello\"", f)
	}
	// Pongs are ignored; the next data message is returned.
	writeRaw(t, cli.nc,
		rawFrame{fin: true, op: opPong, masked: true, payload: []byte("unsolicited")},
		rawFrame{fin: true, op: opText, masked: true, payload: []byte("after")})
	if r := await(t, res); r.err != nil || string(r.data) != "after" {
		t.Fatalf("got %q, %v", r.data, r.err)
	}

	// Client answers a server ping with a masked pong.
	res = readAsync(cli)
	writeRaw(t, srv.nc, rawFrame{fin: true, op: opPing, payload: bytes.Repeat([]byte("p"), 125)})
	if f := readRaw(t, srv.nc); f.op != opPong || !f.masked || string(f.payload) != strings.Repeat("p", 125) {
		t.Fatalf("got frame %+v, want masked pong", f)
	}
	writeRaw(t, srv.nc, rawFrame{fin: true, op: opBinary, payload: []byte{1}})
	if r := await(t, res); r.err != nil || r.typ != BinaryMessage {
		t.Fatalf("got %v, %v", r.typ, r.err)
	}
}

func TestCloseHandshakeEcho(t *testing.T) {
	tests := []struct {
		name       string
		payload    []byte
		wantCode   int
		wantReason string
		wantEcho   int
	}{
		{"code and reason", append([]byte{0x0f, 0xa1}, "bye"...), 4001, "bye", 4001},
		{"code only", []byte{0x03, 0xe8}, StatusNormalClosure, "", StatusNormalClosure},
		{"empty", nil, StatusNoStatus, "", StatusNoStatus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, cli := newPair(t, nil, nil)
			res := readAsync(srv)
			writeRaw(t, cli.nc, rawFrame{fin: true, op: opClose, masked: true, payload: tt.payload})
			f := readRaw(t, cli.nc)
			if f.op != opClose || f.masked || closeCode(f.payload) != tt.wantEcho {
				t.Fatalf("got frame %+v, want close %d", f, tt.wantEcho)
			}
			r := await(t, res)
			wantCloseError(t, r.err, tt.wantCode, tt.wantReason)
			// The server closed the TCP connection after echoing.
			cli.nc.SetReadDeadline(time.Now().Add(testTimeout))
			if n, err := cli.nc.Read(make([]byte, 1)); n != 0 || err == nil {
				t.Fatalf("read after close = %d, %v; want EOF", n, err)
			}
			if _, _, err := srv.ReadMessage(); !errors.Is(err, ErrClosed) {
				t.Fatalf("second ReadMessage error %v, want ErrClosed", err)
			}
			if err := srv.WriteMessage(TextMessage, []byte("x")); !errors.Is(err, ErrClosed) {
				t.Fatalf("WriteMessage after close = %v, want ErrClosed", err)
			}
		})
	}
}

func TestCloseBetweenConns(t *testing.T) {
	srv, cli := newPair(t, nil, nil)
	sres := readAsync(srv)
	cres := readAsync(cli)
	if err := srv.Close(StatusGoingAway, "shutting down"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The pending server read is unblocked with the local status, the
	// client sees the peer's close frame.
	serr := await(t, sres).err
	wantCloseError(t, serr, StatusGoingAway, "shutting down")
	if !errors.Is(serr, ErrClosed) {
		t.Fatalf("local close error %v does not match ErrClosed", serr)
	}
	cerr := await(t, cres).err
	wantCloseError(t, cerr, StatusGoingAway, "shutting down")
	if errors.Is(cerr, ErrClosed) {
		t.Fatalf("peer close error %v matches ErrClosed", cerr)
	}

	if err := srv.Close(StatusNormalClosure, ""); err != nil {
		t.Fatalf("second Close = %v, want nil", err)
	}
	if err := srv.CloseNow(); err != nil {
		t.Fatalf("CloseNow after Close = %v, want nil", err)
	}
	for _, c := range []*Conn{srv, cli} {
		if _, _, err := c.ReadMessage(); !errors.Is(err, ErrClosed) {
			t.Fatalf("ReadMessage after close = %v, want ErrClosed", err)
		}
		if err := c.WriteMessages([]Message{{Type: TextMessage, Data: nil}}); !errors.Is(err, ErrClosed) {
			t.Fatalf("WriteMessages after close = %v, want ErrClosed", err)
		}
	}
}

func TestCloseLongReason(t *testing.T) {
	srv, cli := newPair(t, nil, nil)
	res := readAsync(cli)
	reason := strings.Repeat("é", 100) // 200 bytes: truncated to fit
	srv.Close(StatusPolicyViolation, reason)
	var ce *CloseError
	if err := await(t, res).err; !errors.As(err, &ce) || ce.Code != StatusPolicyViolation ||
		len(ce.Reason) > 123 || !strings.HasPrefix(reason, ce.Reason) || !utf8.ValidString(ce.Reason) {
		t.Fatalf("got %v", err)
	}
}

func TestCloseNow(t *testing.T) {
	srv, cli := newPair(t, nil, nil)
	sres := readAsync(srv)
	cres := readAsync(cli)
	if err := srv.CloseNow(); err != nil {
		t.Fatal(err)
	}
	if err := await(t, sres).err; !errors.Is(err, ErrClosed) {
		t.Fatalf("server read error %v, want ErrClosed", err)
	}
	// No close frame: the client sees the connection drop.
	err := await(t, cres).err
	var ce *CloseError
	if !errors.Is(err, io.EOF) || errors.As(err, &ce) {
		t.Fatalf("client read error %v, want a connection error wrapping io.EOF", err)
	}
	if err := srv.CloseNow(); err != nil {
		t.Fatalf("second CloseNow = %v", err)
	}
	if err := srv.WriteMessage(TextMessage, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("WriteMessage = %v, want ErrClosed", err)
	}
}

func TestReadLimit(t *testing.T) {
	t.Run("single frame", func(t *testing.T) {
		srv, cli := newPair(t, &UpgradeOptions{ReadLimit: 1000}, nil)
		res := readAsync(srv)
		cres := readAsync(cli)
		cli.WriteMessage(BinaryMessage, make([]byte, 1001))
		if err := await(t, res).err; !errors.Is(err, ErrMessageTooBig) {
			t.Fatalf("server error %v, want ErrMessageTooBig", err)
		}
		wantCloseError(t, await(t, cres).err, StatusMessageTooBig, "message too big")
	})
	t.Run("at limit", func(t *testing.T) {
		srv, cli := newPair(t, &UpgradeOptions{ReadLimit: 1000}, nil)
		cli.WriteMessage(BinaryMessage, make([]byte, 1000))
		if _, data := mustRead(t, srv); len(data) != 1000 {
			t.Fatalf("got %d bytes", len(data))
		}
	})
	t.Run("fragments", func(t *testing.T) {
		srv, cli := newPair(t, &UpgradeOptions{ReadLimit: 1000}, nil)
		res := readAsync(srv)
		writeRaw(t, cli.nc,
			rawFrame{op: opText, masked: true, payload: bytes.Repeat([]byte("a"), 600)},
			rawFrame{fin: true, op: opContinuation, masked: true, payload: bytes.Repeat([]byte("a"), 600)})
		if f := readRaw(t, cli.nc); f.op != opClose || closeCode(f.payload) != StatusMessageTooBig {
			t.Fatalf("got frame %+v, want close 1009", f)
		}
		cli.nc.Close()
		if err := await(t, res).err; !errors.Is(err, ErrMessageTooBig) {
			t.Fatalf("server error %v, want ErrMessageTooBig", err)
		}
	})
	t.Run("SetReadLimit", func(t *testing.T) {
		srv, cli := newPair(t, nil, &DialOptions{ReadLimit: 10})
		srv.WriteMessage(TextMessage, []byte("0123456789"))
		mustRead(t, cli)
		cli.SetReadLimit(5)
		res := readAsync(cli)
		srv.WriteMessage(TextMessage, []byte("012345"))
		if f := readRaw(t, srv.nc); f.op != opClose || !f.masked || closeCode(f.payload) != StatusMessageTooBig {
			t.Fatalf("got frame %+v, want masked close 1009", f)
		}
		srv.nc.Close()
		if err := await(t, res).err; !errors.Is(err, ErrMessageTooBig) {
			t.Fatalf("client error %v, want ErrMessageTooBig", err)
		}
	})
}

func TestInvalidUTF8(t *testing.T) {
	srv, cli := newPair(t, nil, nil)
	res := readAsync(srv)
	cres := readAsync(cli)
	cli.WriteMessage(TextMessage, []byte("ok \xff"))
	if err := await(t, res).err; err == nil {
		t.Fatal("server accepted invalid UTF-8")
	}
	wantCloseError(t, await(t, cres).err, StatusInvalidPayload, "invalid UTF-8 in text message")
}

func TestProtocolErrors(t *testing.T) {
	text := func(s string) []byte { return []byte(s) }
	tests := []struct {
		name   string
		frames []rawFrame
		raw    []byte // sent after frames
		code   int
	}{
		{"unmasked client frame", []rawFrame{{fin: true, op: opText, payload: text("x")}}, nil, StatusProtocolError},
		{"reserved bit", []rawFrame{{fin: true, rsv: 4, op: opText, masked: true, payload: text("x")}}, nil, StatusProtocolError},
		{"unknown data opcode", []rawFrame{{fin: true, op: 3, masked: true}}, nil, StatusProtocolError},
		{"unknown control opcode", []rawFrame{{fin: true, op: 0xB, masked: true}}, nil, StatusProtocolError},
		{"long control frame", []rawFrame{{fin: true, op: opPing, masked: true, payload: make([]byte, 126)}}, nil, StatusProtocolError},
		{"fragmented control frame", []rawFrame{{op: opPing, masked: true}}, nil, StatusProtocolError},
		{"continuation without start", []rawFrame{{fin: true, op: opContinuation, masked: true, payload: text("x")}}, nil, StatusProtocolError},
		{"new message while fragmented", []rawFrame{
			{op: opText, masked: true, payload: text("a")},
			{fin: true, op: opBinary, masked: true, payload: text("b")},
		}, nil, StatusProtocolError},
		{"one-byte close payload", []rawFrame{{fin: true, op: opClose, masked: true, payload: []byte{3}}}, nil, StatusProtocolError},
		{"close code 1005", []rawFrame{{fin: true, op: opClose, masked: true, payload: []byte{0x03, 0xed}}}, nil, StatusProtocolError},
		{"close code 999", []rawFrame{{fin: true, op: opClose, masked: true, payload: []byte{0x03, 0xe7}}}, nil, StatusProtocolError},
		{"close code 5000", []rawFrame{{fin: true, op: opClose, masked: true, payload: []byte{0x13, 0x88}}}, nil, StatusProtocolError},
		{"close reason not UTF-8", []rawFrame{{fin: true, op: opClose, masked: true, payload: []byte{0x03, 0xe8, 0xff}}}, nil, StatusInvalidPayload},
		{"64-bit length with MSB", nil, []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, StatusProtocolError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, cli := newPair(t, nil, nil)
			res := readAsync(srv)
			writeRaw(t, cli.nc, tt.frames...)
			if tt.raw != nil {
				cli.nc.Write(tt.raw)
			}
			if f := readRaw(t, cli.nc); f.op != opClose || f.masked || closeCode(f.payload) != tt.code {
				t.Fatalf("got frame %+v, want close %d", f, tt.code)
			}
			// The server shut down its sending side after the close frame
			// and waits for the client to close.
			cli.nc.SetReadDeadline(time.Now().Add(testTimeout))
			if n, err := cli.nc.Read(make([]byte, 1)); n != 0 || err == nil {
				t.Fatalf("read after close frame = %d, %v; want EOF", n, err)
			}
			cli.nc.Close()
			err := await(t, res).err
			var ce *CloseError
			if err == nil || errors.As(err, &ce) {
				t.Fatalf("ReadMessage error %v, want a protocol error", err)
			}
		})
	}
}

func TestMaskedFrameFromServer(t *testing.T) {
	srv, cli := newPair(t, nil, nil)
	res := readAsync(cli)
	writeRaw(t, srv.nc, rawFrame{fin: true, op: opText, masked: true, payload: []byte("x")})
	if f := readRaw(t, srv.nc); f.op != opClose || !f.masked || closeCode(f.payload) != StatusProtocolError {
		t.Fatalf("got frame %+v, want masked close 1002", f)
	}
	srv.nc.Close()
	if err := await(t, res).err; err == nil {
		t.Fatal("client accepted a masked frame")
	}
}

func TestConcurrentWriters(t *testing.T) {
	srv, cli := newPair(t, nil, nil)
	for _, dir := range []struct {
		name     string
		from, to *Conn
	}{{"client-to-server", cli, srv}, {"server-to-client", srv, cli}} {
		const writers, perWriter = 8, 50
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := 0; i < perWriter; i += 2 {
					a := fmt.Sprintf("%d:%d:%s", w, i, strings.Repeat("x", i*10))
					b := fmt.Sprintf("%d:%d:%s", w, i+1, strings.Repeat("y", i*300))
					var err error
					if i%4 == 0 {
						err = dir.from.WriteMessages([]Message{{Type: TextMessage, Data: []byte(a)}, {Type: BinaryMessage, Data: []byte(b)}})
					} else {
						if err = dir.from.WriteMessage(TextMessage, []byte(a)); err == nil {
							err = dir.from.WriteMessage(BinaryMessage, []byte(b))
						}
					}
					if err != nil {
						t.Errorf("write: %v", err)
						return
					}
				}
			})
		}
		next := make([]int, writers) // next expected index per writer
		for range writers * perWriter {
			typ, data := mustRead(t, dir.to)
			parts := strings.SplitN(string(data), ":", 3)
			w, _ := strconv.Atoi(parts[0])
			i, _ := strconv.Atoi(parts[1])
			if len(parts) != 3 || w < 0 || w >= writers || i != next[w] || (typ == TextMessage) != (i%2 == 0) {
				t.Fatalf("%s: unexpected message %v %.40q", dir.name, typ, data)
			}
			next[w]++
		}
		wg.Wait()
	}
}

// stuckConn is a net.Conn whose writes block, like a peer that never reads,
// until the write deadline passes or the conn is closed.
type stuckConn struct {
	memConn
	mu       sync.Mutex
	deadline time.Time
	changed  chan struct{} // closed and replaced when deadline changes
	closed   chan struct{}
	entered  chan struct{} // receives when a Write starts blocking
}

func newStuckConn() *stuckConn {
	return &stuckConn{
		memConn: memConn{r: bytes.NewReader(nil)},
		changed: make(chan struct{}),
		closed:  make(chan struct{}),
		entered: make(chan struct{}, 16),
	}
}

func (s *stuckConn) Write(p []byte) (int, error) {
	s.entered <- struct{}{}
	for {
		s.mu.Lock()
		dl, changed := s.deadline, s.changed
		s.mu.Unlock()
		var timeout <-chan time.Time
		if !dl.IsZero() {
			timer := time.NewTimer(time.Until(dl))
			defer timer.Stop()
			timeout = timer.C
		}
		select {
		case <-s.closed:
			return 0, net.ErrClosed
		case <-timeout:
			return 0, errors.New("i/o timeout")
		case <-changed:
		}
	}
}

func (s *stuckConn) SetWriteDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deadline = t
	close(s.changed)
	s.changed = make(chan struct{})
	return nil
}

func (s *stuckConn) Close() error {
	select {
	case <-s.closed:
	default:
		close(s.closed)
	}
	return nil
}

func TestCloseDoesNotBlockOnStuckPeer(t *testing.T) {
	nc := newStuckConn()
	c := newConn(nc, false, nil, 0)
	errc := make(chan error, 1)
	go func() { errc <- c.WriteMessage(BinaryMessage, make([]byte, 1<<20)) }()
	await(t, nc.entered) // the writer holds the write lock and is stuck

	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- c.Close(StatusGoingAway, "") }()
	await(t, done)
	if d := time.Since(start); d > closeTimeout+3*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if err := await(t, errc); !errors.Is(err, ErrClosed) {
		t.Fatalf("stuck write returned %v, want ErrClosed", err)
	}
}

func TestMaskBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 100 {
		data := payload(n, BinaryMessage, uint64(n))
		key := r.Uint32()
		keyBytes := [4]byte{byte(key), byte(key >> 8), byte(key >> 16), byte(key >> 24)}
		want := make([]byte, n)
		for i := range data {
			want[i] = data[i] ^ keyBytes[i%4]
		}
		// Whole and in random pieces.
		got := bytes.Clone(data)
		if end := maskBytes(key, 0, got); end != n%4 || !bytes.Equal(got, want) {
			t.Fatalf("n=%d: whole mask mismatch", n)
		}
		got = bytes.Clone(data)
		pos := 0
		for rest := got; len(rest) > 0; {
			k := 1 + r.IntN(len(rest))
			pos = maskBytes(key, pos, rest[:k])
			rest = rest[k:]
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("n=%d: piecewise mask mismatch", n)
		}
	}
}

func TestAppendHeader(t *testing.T) {
	for _, n := range []int{0, 125, 126, 0xFFFF, 0x10000} {
		for _, masked := range []bool{false, true} {
			b := appendHeader(nil, opBinary, n, masked, 0x04030201)
			c := newConn(&memConn{r: bytes.NewReader(b)}, !masked, nil, 0)
			h, err := c.readHeader()
			if err != nil || !h.fin || h.op != opBinary || h.masked != masked || h.length != uint64(n) ||
				(masked && h.key != 0x04030201) {
				t.Fatalf("n=%d masked=%v: parsed %+v, %v", n, masked, h, err)
			}
			if c.rpos != len(b) {
				t.Fatalf("n=%d: header is %d bytes, consumed %d", n, len(b), c.rpos)
			}
		}
	}
}

// probeReader serves data, then records the size of the buffer passed to
// the first read that finds no data left, and fails it.
type probeReader struct {
	data     []byte
	idleRead int
}

func (p *probeReader) Read(b []byte) (int, error) {
	if len(p.data) == 0 {
		if p.idleRead == 0 {
			p.idleRead = len(b)
		}
		return 0, errors.New("probe: no more data")
	}
	n := copy(b, p.data)
	p.data = p.data[n:]
	return n, nil
}

func TestIdleReadUsesSmallBuffer(t *testing.T) {
	masked := func(f rawFrame) []byte { f.masked = true; return encodeFrame(f) }
	big := masked(rawFrame{fin: true, op: opBinary, payload: make([]byte, 1000)})
	ping := masked(rawFrame{fin: true, op: opPing, payload: make([]byte, 125)})
	tests := []struct {
		name  string
		input []byte
		reads int // successful ReadMessage calls before the idle read
	}{
		{"after a large message", big, 1},
		{"after a long ping", append(bytes.Clone(big), ping...), 1},
		{"after a message with a tail", append(bytes.Clone(big), masked(rawFrame{fin: true, op: opText, payload: []byte("tail")})...), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr := &probeReader{data: tt.input}
			c := newConn(&memConn{r: pr, w: io.Discard}, false, nil, 0)
			for range tt.reads {
				if _, _, err := c.ReadMessage(); err != nil {
					t.Fatal(err)
				}
			}
			if _, _, err := c.ReadMessage(); err == nil {
				t.Fatal("ReadMessage succeeded without data")
			}
			if pr.idleRead != smallBufSize {
				t.Fatalf("idle read used a %d-byte buffer, want the %d-byte embedded one", pr.idleRead, smallBufSize)
			}
		})
	}
}

func TestCloseUnsendableCode(t *testing.T) {
	// Codes that may not appear on the wire yield a close frame without a
	// status, which the peer reports as StatusNoStatus.
	for _, code := range []int{StatusNoStatus, StatusAbnormalClosure, 0, 2000} {
		srv, cli := newPair(t, nil, nil)
		res := readAsync(cli)
		srv.Close(code, "ignored")
		wantCloseError(t, await(t, res).err, StatusNoStatus, "")
	}
}

func TestEOF(t *testing.T) {
	masked := func(f rawFrame) []byte { f.masked = true; return encodeFrame(f) }
	msg := masked(rawFrame{fin: true, op: opText, payload: []byte("hello")})
	frag := masked(rawFrame{op: opText, payload: []byte("hel")})
	ping := masked(rawFrame{fin: true, op: opPing})
	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"at message boundary", msg, io.EOF},
		{"after control frame", append(bytes.Clone(msg), ping...), io.EOF},
		{"inside header", append(bytes.Clone(msg), msg[:1]...), io.ErrUnexpectedEOF},
		{"inside payload", append(bytes.Clone(msg), msg[:len(msg)-1]...), io.ErrUnexpectedEOF},
		{"inside fragmented message", append(bytes.Clone(msg), frag...), io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConn(&memConn{r: bytes.NewReader(tt.input), w: io.Discard}, false, nil, 0)
			if _, data, err := c.ReadMessage(); err != nil || string(data) != "hello" {
				t.Fatalf("first ReadMessage = %q, %v", data, err)
			}
			_, _, err := c.ReadMessage()
			if !errors.Is(err, tt.want) || (tt.want == io.EOF && errors.Is(err, io.ErrUnexpectedEOF)) {
				t.Fatalf("ReadMessage error %v, want %v", err, tt.want)
			}
		})
	}
}
