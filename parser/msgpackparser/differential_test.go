package msgpackparser

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/socketio-go/socketio/internal/nodetest"
	"github.com/socketio-go/socketio/msgpack"
	"github.com/socketio-go/socketio/parser"
)

// requireNode skips (or fails, under CI) when Node.js or the npm packages
// it needs are missing.
func requireNode(t testing.TB) {
	t.Helper()
	nodetest.Require(t, "testdata", "socket.io-msgpack-parser")
}

type nodeAns struct {
	OK      bool     `json:"ok"`
	Error   string   `json:"error"`
	Hex     string   `json:"hex"`
	Type    int      `json:"type"`
	Nsp     string   `json:"nsp"`
	ID      *int64   `json:"id"`
	HasData bool     `json:"hasData"`
	Data    string   `json:"data"`
	Atts    []string `json:"atts"`
}

// runNode sends the requests to one testdata/differential.js process and
// returns its answers, in order.
func runNode(t *testing.T, reqs []any) []nodeAns {
	t.Helper()
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	for _, r := range reqs {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("node", "differential.js")
	cmd.Dir = "testdata"
	cmd.Stdin = &in
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var answers []nodeAns
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var a nodeAns
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("node answer %q: %v", sc.Bytes(), err)
		}
		answers = append(answers, a)
	}
	if len(answers) != len(reqs) {
		t.Fatalf("node answered %d of %d requests", len(answers), len(reqs))
	}
	return answers
}

func b64s(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = base64.StdEncoding.EncodeToString(b)
	}
	return out
}

// jsPacket is the packet object the official server builds, its keys in
// the order AppendPacket writes them.
func jsPacket(p *parser.Packet) json.RawMessage {
	var b strings.Builder
	t := p.Type
	if t == parser.BinaryEvent {
		t = parser.Event
	}
	b.WriteString(`{"type":` + string('0'+byte(t)))
	if len(p.Data) > 0 {
		b.WriteString(`,"data":` + string(p.Data))
	}
	if p.ID >= 0 {
		id, _ := json.Marshal(p.ID)
		b.WriteString(`,"id":` + string(id))
	}
	nsp, _ := json.Marshal(p.Namespace)
	b.WriteString(`,"nsp":` + string(nsp) + `}`)
	return json.RawMessage(b.String())
}

var encodeCases = []*parser.Packet{
	{Type: parser.Connect, Namespace: "/", ID: parser.NoID, Data: []byte(`{"sid":"oSO0OpakMV_3jnilAAAA"}`)},
	{Type: parser.Connect, Namespace: "/admin", ID: parser.NoID, Data: []byte(`{"sid":"x","pid":"y"}`)},
	{Type: parser.Connect, Namespace: "/", ID: parser.NoID},
	{Type: parser.Connect, Namespace: "/", ID: parser.NoID, Data: []byte(`{"token":"123","n":[1,2,3]}`)},
	{Type: parser.Disconnect, Namespace: "/chat", ID: parser.NoID},
	{Type: parser.ConnectError, Namespace: "/", ID: parser.NoID, Data: []byte(`{"message":"Invalid namespace"}`)},
	{Type: parser.ConnectError, Namespace: "/x", ID: parser.NoID, Data: []byte(`{"message":"not authorized","data":{"code":401}}`)},
	{Type: parser.Event, Namespace: "/", ID: parser.NoID, Data: []byte(`["hello",1,2.5,-3,true,false,null,{"a":[1,{"b":"c"}]},"é€😀","\u00e9\n"]`)},
	{Type: parser.Event, Namespace: "/", ID: 12, Data: []byte(`["ask",{"q":"?"}]`)},
	{Type: parser.Event, Namespace: "/", ID: 1 << 40, Data: []byte(`["big id"]`)},
	{Type: parser.Event, Namespace: "/bin", ID: parser.NoID, Data: []byte(`["file",{"_placeholder":true,"num":0},{"nested":[{"_placeholder":true,"num":1}]}]`), Attachments: [][]byte{{1, 2, 3}, bytes.Repeat([]byte{0xff}, 300)}},
	{Type: parser.BinaryEvent, Namespace: "/", ID: 7, Data: []byte(`["b",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{}}},
	{Type: parser.Ack, Namespace: "/", ID: 5, Data: []byte(`["ok",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{bytes.Repeat([]byte{7}, 70000)}},
	{Type: parser.Ack, Namespace: "/", ID: 0, Data: []byte(`[]`)},
	{Type: parser.Event, Namespace: "/", ID: parser.NoID, Data: []byte(`["numbers",127,128,255,256,65535,65536,4294967295,4294967296,-32,-33,-128,-129,-32768,-32769,-2147483648,-2147483649,9007199254740991,0.1,-0.5,1e-7]`)},
	{Type: parser.Event, Namespace: "/", ID: parser.NoID, Data: []byte(`["sizes","` + strings.Repeat("a", 31) + `","` + strings.Repeat("b", 32) + `","` + strings.Repeat("c", 256) + `","` + strings.Repeat("d", 65536) + `",[` + strings.Repeat("0,", 15) + `0],{` + strings.Repeat(`"k":1,`, 3) + `"a1":1,"a2":2,"a3":3,"a4":4,"a5":5,"a6":6,"a7":7,"a8":8,"a9":9,"b1":1,"b2":2,"b3":3,"b4":4,"b5":5,"b6":6,"b7":7}]`)},
}

// TestDifferentialEncode checks that AppendPacket writes the bytes
// socket.io-msgpack-parser writes for the same packet object.
func TestDifferentialEncode(t *testing.T) {
	requireNode(t)
	var reqs []any
	for _, p := range encodeCases {
		reqs = append(reqs, map[string]any{"op": "encode", "packet": jsPacket(p), "atts": b64s(p.Attachments)})
	}
	answers := runNode(t, reqs)
	for i, p := range encodeCases {
		a := answers[i]
		if !a.OK {
			t.Errorf("case %d: node: %s", i, a.Error)
			continue
		}
		got, err := AppendPacket(nil, p)
		if err != nil {
			t.Errorf("case %d: %v", i, err)
			continue
		}
		if want, _ := hex.DecodeString(a.Hex); !bytes.Equal(got, want) {
			t.Errorf("case %d (%v %s):\n got %x\nwant %x", i, p.Type, trunc(p.Data), got, want)
		}
	}
}

func trunc(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}

// mp builds a MessagePack map from alternating keys and raw values.
func mp(kv ...[]byte) []byte {
	b := msgpack.AppendMapHeader(nil, len(kv)/2)
	for _, x := range kv {
		b = append(b, x...)
	}
	return b
}

func str(s string) []byte { return msgpack.AppendString(nil, s) }
func num(n int64) []byte  { return msgpack.AppendInt(nil, n) }

// flt writes f as float 64, even when it is integral.
func flt(f float64) []byte {
	return binary.BigEndian.AppendUint64([]byte{0xcb}, math.Float64bits(f))
}

func arr(items ...[]byte) []byte {
	b := msgpack.AppendArrayHeader(nil, len(items))
	for _, x := range items {
		b = append(b, x...)
	}
	return b
}

var undef = []byte{0xd4, 0, 0}

// decodeCase is a message and whether the Go decoder is meant to reject
// it where socket.io-msgpack-parser accepts it (a documented deviation).
type decodeCase struct {
	name     string
	msg      []byte
	stricter bool
}

func decodeCases() []decodeCase {
	T, D, N, I := str("type"), str("data"), str("nsp"), str("id")
	ev := arr(str("hi"), num(1))
	cs := []decodeCase{
		{"event", mp(T, num(2), D, ev, N, str("/")), false},
		{"event key order", mp(N, str("/x"), I, num(3), D, ev, T, num(2)), false},
		{"extra keys", mp(T, num(2), D, ev, N, str("/"), str("other"), num(1)), false},
		{"repeated key", mp(T, num(1), T, num(2), D, ev, N, str("/")), false},
		{"float type", mp(T, flt(2), D, ev, N, str("/")), false},
		{"float id", mp(T, flt(2), D, ev, N, str("/"), I, flt(4)), false},
		{"undefined id", mp(T, num(2), D, ev, N, str("/"), I, undef), false},
		{"connect no data", mp(T, num(0), N, str("/")), false},
		{"connect undefined data", mp(T, num(0), D, undef, N, str("/")), false},
		{"connect auth", mp(T, num(0), D, mp(str("token"), str("abc"), str("n"), arr(num(1))), N, str("/admin")), false},
		{"disconnect", mp(T, num(1), N, str("/")), false},
		{"disconnect undefined data", mp(T, num(1), D, undef, N, str("/")), false},
		{"connect_error string", mp(T, num(4), D, str("nope"), N, str("/")), false},
		{"connect_error object", mp(T, num(4), D, mp(str("message"), str("m")), N, str("/")), false},
		{"ack", mp(T, num(3), I, num(9), D, arr(), N, str("/")), false},
		{"ack without id", mp(T, num(3), D, arr(num(1)), N, str("/")), false},
		{"binary", mp(T, num(2), D, arr(str("b"), msgpack.AppendBinary(nil, []byte{1, 2}), mp(str("x"), msgpack.AppendBinary(nil, nil))), N, str("/")), false},
		{"arraybuffer ext", mp(T, num(2), D, arr(str("b"), []byte{0xc7, 2, 0, 9, 8}), N, str("/")), false},
		{"numeric event name", mp(T, num(2), D, arr(num(42), str("x")), N, str("/")), false},
		{"date and undefined", mp(T, num(2), D, arr(str("d"), []byte{0xd7, 0, 0, 0, 0, 0, 0, 0, 0, 1}, undef, mp(str("u"), undef, str("v"), num(1))), N, str("/")), false},
		{"map with numeric keys", mp(T, num(2), D, arr(str("m"), mp(num(2), str("b"), str("z"), num(0), num(1), str("a"))), N, str("/")), false},
		{"empty nsp", mp(T, num(0), N, str("")), false},
		{"nsp without slash", mp(T, num(0), N, str("admin")), false},

		{"not a map", arr(num(2)), false},
		{"nil", []byte{0xc0}, false},
		{"empty message", []byte{}, false},
		{"no type", mp(D, ev, N, str("/")), false},
		{"type 5", mp(T, num(5), D, ev, N, str("/")), false},
		{"type 6", mp(T, num(6), D, ev, N, str("/")), false},
		{"type -1", mp(T, num(-1), D, ev, N, str("/")), false},
		{"type string", mp(T, str("2"), D, ev, N, str("/")), false},
		{"type 2.5", mp(T, flt(2.5), D, ev, N, str("/")), false},
		{"no nsp", mp(T, num(2), D, ev), false},
		{"nsp number", mp(T, num(2), D, ev, N, num(1)), false},
		{"nsp nil", mp(T, num(2), D, ev, N, []byte{0xc0}), false},
		{"event without data", mp(T, num(2), N, str("/")), false},
		{"event with string data", mp(T, num(2), D, str("x"), N, str("/")), false},
		{"event with map data", mp(T, num(2), D, mp(), N, str("/")), false},
		{"disconnect with data", mp(T, num(1), D, mp(), N, str("/")), false},
		{"disconnect with nil data", mp(T, num(1), D, []byte{0xc0}, N, str("/")), false},
		{"connect with array", mp(T, num(0), D, arr(), N, str("/")), false},
		{"connect with nil", mp(T, num(0), D, []byte{0xc0}, N, str("/")), false},
		{"connect with binary", mp(T, num(0), D, msgpack.AppendBinary(nil, []byte{1}), N, str("/")), false},
		{"connect_error with number", mp(T, num(4), D, num(1), N, str("/")), false},
		{"connect_error without data", mp(T, num(4), N, str("/")), false},
		{"id string", mp(T, num(2), D, ev, N, str("/"), I, str("1")), false},
		{"id 1.5", mp(T, num(2), D, ev, N, str("/"), I, flt(1.5)), false},
		{"id nil", mp(T, num(2), D, ev, N, str("/"), I, []byte{0xc0}), false},
		{"trailing bytes", append(mp(T, num(2), D, ev, N, str("/")), 0), false},
		{"truncated", mp(T, num(2), D, ev, N, str("/"))[:10], false},

		// Deviations: accepted by socket.io-msgpack-parser, refused here.
		{"negative id", mp(T, num(2), D, ev, N, str("/"), I, num(-1)), true},
		{"id beyond 2^53", mp(T, num(2), D, ev, N, str("/"), I, num(1<<60)), true},
		{"empty event", mp(T, num(2), D, arr(), N, str("/")), true},
		{"reserved event", mp(T, num(2), D, arr(str("disconnect")), N, str("/")), true},
		{"event name not a string", mp(T, num(2), D, arr([]byte{0xc0}, num(1)), N, str("/")), true},
		{"event data ext", mp(T, num(2), D, []byte{0xd5, 5, 1, 2}, N, str("/")), true},
		{"connect auth with binary", mp(T, num(0), D, mp(str("k"), msgpack.AppendBinary(nil, []byte{1})), N, str("/")), true},
	}
	for _, p := range encodeCases {
		msg, _ := AppendPacket(nil, p)
		cs = append(cs, decodeCase{"encoded " + p.Type.String() + " " + trunc(p.Data), msg, false})
	}
	return cs
}

// TestDifferentialDecode checks that the decoder accepts what
// socket.io-msgpack-parser accepts (but for the documented deviations),
// rejects what it rejects, and decodes the same packet.
func TestDifferentialDecode(t *testing.T) {
	requireNode(t)
	cs := decodeCases()
	var reqs []any
	for _, c := range cs {
		reqs = append(reqs, map[string]any{"op": "decode", "msg": base64.StdEncoding.EncodeToString(c.msg)})
	}
	answers := runNode(t, reqs)
	for i, c := range cs {
		a := answers[i]
		var d Decoder
		p, err := d.Decode(c.msg, true)
		if c.stricter {
			if !a.OK {
				t.Errorf("%s: node rejects it too (%s): not a deviation", c.name, a.Error)
			}
			if err == nil {
				t.Errorf("%s: accepted, want an error", c.name)
			}
			continue
		}
		if !a.OK {
			if err == nil {
				t.Errorf("%s: accepted, node rejects it: %s", c.name, a.Error)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v; node accepts it", c.name, err)
			continue
		}
		if int(p.Type) != a.Type || p.Namespace != a.Nsp {
			t.Errorf("%s: type %d nsp %q, node %d %q", c.name, p.Type, p.Namespace, a.Type, a.Nsp)
		}
		if (a.ID == nil) != (p.ID == parser.NoID) || (a.ID != nil && *a.ID != p.ID) {
			t.Errorf("%s: id %d, node %v", c.name, p.ID, a.ID)
		}
		if a.HasData != (p.Data != nil) || a.Data != string(p.Data) {
			t.Errorf("%s: data %q, node %q (hasData %v)", c.name, p.Data, a.Data, a.HasData)
		}
		if got := b64s(p.Attachments); strings.Join(got, ",") != strings.Join(a.Atts, ",") {
			t.Errorf("%s: attachments %v, node %v", c.name, got, a.Atts)
		}
	}
}
