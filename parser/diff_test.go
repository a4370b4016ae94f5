package parser

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/socketio-go/socketio/internal/difffuzz"
)

// The differential test of the Decoder against socket.io-parser 4.2.7's
// Decoder, run by internal/difffuzz: the same Engine.IO messages (a text
// message, then binary ones) go to both, and after each message the state
// must be the same: an error, waiting for n attachments, or a packet with
// the same type, namespace, ack id, attachment count and data, the data
// compared as JavaScript values with each resolved placeholder replaced by
// its attachment. Both stop at their first error. A BINARY_EVENT or
// BINARY_ACK of ours is compared as the EVENT or ACK socket.io-parser turns
// it into, with its attachment count.

// sioMsg is one Engine.IO message given to the decoders.
type sioMsg struct {
	Text *string `json:"text,omitempty"` // base64
	Bin  *string `json:"bin,omitempty"`  // base64
	raw  []byte
}

func textMsg(s string) sioMsg {
	return sioMsg{Text: difffuzz.B64([]byte(s)), raw: []byte(s)}
}

func binMsg(b []byte) sioMsg {
	b = append([]byte{}, b...)
	return sioMsg{Bin: difffuzz.B64(b), raw: b}
}

func (m sioMsg) String() string {
	if m.Text != nil {
		return fmt.Sprintf("text %q", m.raw)
	}
	return fmt.Sprintf("binary %x", m.raw)
}

// sioState is the state of a decoder after one message. P is ours as sent
// to oracle.js; the answers hold both sides' P normalised to a string.
type sioState struct {
	S   string     `json:"s"` // error, pending, packet
	N   int        `json:"n,omitempty"`
	Err string     `json:"err,omitempty"`
	P   *sioPacket `json:"p,omitempty"`
}

type sioPacket struct {
	Type        Type    `json:"type"`
	Nsp         *string `json:"nsp"`
	ID          *int64  `json:"id"`
	Attachments int     `json:"attachments"`
	Data        *string `json:"data"`
}

type sioAnsState struct {
	S   string
	N   int
	Err string
	P   string
}

func (s sioAnsState) String() string {
	switch s.S {
	case "packet":
		return "packet " + s.P
	case "pending":
		return fmt.Sprintf("pending %d", s.N)
	case "error":
		return "error " + s.Err
	}
	return s.S
}

// sioCase is one comparison: the messages, the error ours stopped at, and
// both sides' states.
type sioCase struct {
	msgs           []sioMsg
	err            error
	official, ours []sioAnsState
	// final is the official state after the attachments the text message
	// announces, when ours rejected a binary packet socket.io-parser waits
	// with: its verdict comes with the last attachment.
	final *sioAnsState
}

// oursDecode runs our Decoder over msgs.
func oursDecode(msgs []sioMsg) ([]sioState, error) {
	var (
		d      Decoder
		states []sioState
	)
	for _, m := range msgs {
		var (
			p   *Packet
			err error
		)
		if m.Text != nil {
			p, err = d.DecodeText(m.raw)
		} else {
			p, err = d.DecodeBinary(m.raw)
		}
		switch {
		case err != nil:
			return append(states, sioState{S: "error", Err: err.Error()}), err
		case p != nil:
			states = append(states, sioState{S: "packet", P: oursPacket(p)})
		case d.Pending():
			states = append(states, sioState{S: "pending", N: d.want})
		default:
			states = append(states, sioState{S: "none"})
		}
	}
	return states, nil
}

// binMarker is how oracle.js writes a Buffer.
const binMarker = `{"\u0000bin":`

// oursPacket converts p to the form oracle.js reads: the data with each
// placeholder our scanner resolves replaced by its attachment, written as
// oracle.js writes a Buffer.
func oursPacket(p *Packet) *sioPacket {
	q := &sioPacket{Type: p.Type, Nsp: difffuzz.B64([]byte(p.Namespace)), Attachments: len(p.Attachments)}
	switch p.Type {
	case BinaryEvent:
		q.Type = Event
	case BinaryAck:
		q.Type = Ack
	}
	if p.ID != NoID {
		q.ID = &p.ID
	}
	if p.Data == nil {
		return q
	}
	data := p.Data
	if len(p.Attachments) > 0 {
		var spans []phSpan
		if _, _, code := scanPlaceholders(p.Data, 0, 0, len(p.Attachments), &spans); code != scanOK {
			panic(fmt.Sprintf("decoded data %q does not scan: %v", p.Data, code))
		}
		var b []byte
		prev := 0
		for _, s := range spans {
			b = append(b, data[prev:s.start]...)
			b = append(b, binMarker+`"`...)
			b = base64.StdEncoding.AppendEncode(b, p.Attachments[s.num])
			b = append(b, `"}`...)
			prev = s.end
		}
		data = append(b, data[prev:]...)
	}
	q.Data = difffuzz.B64(data)
	return q
}

// sioRun runs msgs through both decoders.
func sioRun(t *testing.T, o *difffuzz.Oracle, msgs []sioMsg) *sioCase {
	t.Helper()
	ours, err := oursDecode(msgs)
	req := struct {
		Op   string     `json:"op"`
		Msgs []sioMsg   `json:"msgs"`
		Ours []sioState `json:"ours"`
	}{"sio", msgs, ours}
	var ans struct{ Official, Ours []sioAnsState }
	o.Call(t, req, &ans)
	return &sioCase{msgs: msgs, err: err, official: ans.Official, ours: ans.Ours}
}

// equal reports whether both sides went through the same states (error
// messages aside).
func (c *sioCase) equal() bool {
	if len(c.official) != len(c.ours) {
		return false
	}
	for i, s := range c.official {
		o := c.ours[i]
		if s.S != o.S || s.N != o.N || s.P != o.P {
			return false
		}
	}
	return true
}

func (c *sioCase) String() string {
	var b strings.Builder
	for i, m := range c.msgs {
		fmt.Fprintf(&b, "\n  %d. %v", i+1, m)
		if i < len(c.official) {
			fmt.Fprintf(&b, "\n     socket.io-parser: %v", c.official[i])
		}
		if i < len(c.ours) {
			fmt.Fprintf(&b, "\n     ours:             %v", c.ours[i])
		}
	}
	if c.final != nil {
		fmt.Fprintf(&b, "\n  socket.io-parser with the announced attachments: %v", *c.final)
	}
	return b.String()
}

// sioCheck compares both decoders on msgs and returns the name of the
// deliberate difference met, if any.
func sioCheck(t *testing.T, o *difffuzz.Oracle, msgs []sioMsg) string {
	t.Helper()
	c := sioRun(t, o, msgs)
	if c.equal() {
		return ""
	}
	// Ours rejected a binary packet at its text message, socket.io-parser
	// waits for the attachments: get its verdict.
	if k := len(c.ours) - 1; k < len(c.official) && c.ours[k].S == "error" && c.official[k].S == "pending" && c.msgs[k].Text != nil {
		more := append(append([]sioMsg{}, c.msgs[:k+1]...), make([]sioMsg, c.official[k].N)...)
		for i := k + 1; i < len(more); i++ {
			more[i] = binMsg([]byte{byte(i)})
		}
		fc := sioRun(t, o, more)
		c.final = &fc.official[len(fc.official)-1]
	}
	for _, d := range sioDeliberates {
		if d.match(c) {
			return d.name
		}
	}
	t.Errorf("socket.io-parser and ours differ:%v", c)
	return ""
}

// sioDeliberate is a difference from socket.io-parser that we keep on
// purpose; docs/conformance.md lists the same entries.
type sioDeliberate struct {
	name, reason string
	example      []string // a text message and attachments showing it
	match        func(c *sioCase) bool
}

var sioDeliberates = []sioDeliberate{{
	name: "type read by Number()",
	reason: "socket.io-parser reads the type with Number(str.charAt(0)), which is 0 (CONNECT) for an empty " +
		"message and for a first character that is JavaScript whitespace. We accept only the digits 0 to 6. " +
		"An empty Socket.IO message cannot reach socket.io-parser anyway: engine.io-parser gives a \"4\" " +
		"packet no data, and socket.io then fails on undefined.",
	example: []string{" "},
	match: func(c *sioCase) bool {
		typ, _, _ := officialLayout(c.msgs[0].raw)
		return c.oursFailedAt(0) && (typ < 0 || jsSpace(typ))
	},
}, {
	name: "attachment count read by Number()",
	reason: "socket.io-parser checks the attachment count with buf != Number(buf), so that \" 1\", \"0x1\", " +
		"\"1.0\", \"1e0\" and \"+1\" count one attachment. Every encoder writes decimal digits, which is all " +
		"we accept.",
	example: []string{`50x1-["a",{"_placeholder":true,"num":0}]`, "\x01"},
	match: func(c *sioCase) bool {
		_, count, _ := officialLayout(c.msgs[0].raw)
		return c.oursFailedAt(0) && count != "" && strings.Trim(count, "0123456789") != ""
	},
}, {
	name: "whitespace read as an ack id",
	reason: "socket.io-parser takes any character c with Number(c) == c as part of the ack id, JavaScript " +
		"whitespace included, and the id is Number() of the run: `2 [\"a\"]` is an EVENT with ack id 0, " +
		"`2 1[\"a\"]` one with id 1 and `21 2[\"a\"]` one with id NaN. An ack id is the decimal digits before " +
		"the payload for us; whitespace before a JSON payload is part of it (and ignored), elsewhere it is " +
		"an error.",
	example: []string{` 2 ["a"]`[1:]},
	match: func(c *sioCase) bool {
		_, _, id := officialLayout(c.msgs[0].raw)
		return strings.IndexFunc(id, jsSpace) >= 0
	},
}, {
	name: "ack id beyond 2^53-1",
	reason: "socket.io-parser reads any run of digits as the ack id, so an id above 2^53-1 becomes a " +
		"rounded number and the ack answers another id. We reject it (MaxID); no sender produces one.",
	example: []string{`29007199254740993["a"]`},
	match: func(c *sioCase) bool {
		_, _, id := officialLayout(c.msgs[0].raw)
		n, err := strconv.ParseUint(id, 10, 64) // fails only beyond uint64 for digits
		return c.oursFailedAt(0) && id != "" && strings.Trim(id, "0123456789") == "" && (err != nil || n > uint64(MaxID))
	},
}, {
	name: "packet without payload",
	reason: "socket.io-parser checks the payload only when there is one: `2`, `3`, `4`, `21` and `51-` " +
		"decode with data undefined (socket.io then emits an event without a name, or calls the ack of " +
		"`312` without arguments). Every encoder writes the payload of these types, an array for " +
		"EVENT and ACK, and we require it.",
	example: []string{"312"},
	match: func(c *sioCase) bool {
		p := c.officialPacket()
		return c.oursFailedAt(0) && p != nil && p.Type != Connect && p.Type != Disconnect && p.Data == nil
	},
}, {
	name: "nesting depth",
	reason: "We reject payloads nested deeper than 100 arrays and objects (Decoder.MaxDepth, see " +
		"docs/security.md); JSON.parse goes as deep as the JavaScript stack allows.",
	example: []string{`2["a",` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `]`},
	match: func(c *sioCase) bool {
		return errors.Is(c.err, ErrTooDeep)
	},
}, {
	name: "placeholders checked on the text message",
	reason: "A placeholder that does not refer to one of the announced attachments (num out of range, not a " +
		"number, missing) makes socket.io-parser fail when the last attachment arrives; we fail at once, on " +
		"the text message, without buffering the attachments.",
	example: []string{`51-["a",{"_placeholder":true,"num":1}]`, "\x01"},
	match: func(c *sioCase) bool {
		return errors.Is(c.err, ErrIllegalAttachments) && c.final != nil && c.final.S == "error"
	},
}, {
	name: "fractional placeholder index",
	reason: "socket.io-parser accepts a placeholder whose num is a number in range but not an integer, " +
		"such as 0.5, and puts buffers[0.5], undefined, in its place. We reject it as a placeholder that " +
		"refers to no attachment.",
	example: []string{`51-["a",{"_placeholder":true,"num":0.5}]`, "\x01"},
	match: func(c *sioCase) bool {
		return errors.Is(c.err, ErrIllegalAttachments) && c.final != nil && c.final.S == "packet" &&
			strings.Contains(c.final.P, `{"\u0000undefined":true}`)
	},
}}

// oursFailedAt reports whether ours failed at message k.
func (c *sioCase) oursFailedAt(k int) bool {
	return c.err != nil && len(c.ours) == k+1
}

// officialPacket returns the packet socket.io-parser decoded from the
// first message: at once, or with the announced attachments.
func (c *sioCase) officialPacket() *struct {
	Type Type
	Data *json.RawMessage
} {
	s := c.final
	if s == nil && len(c.official) > 0 {
		s = &c.official[0]
	}
	if s == nil || s.S != "packet" {
		return nil
	}
	var p struct {
		Type Type
		Data *json.RawMessage
	}
	if err := json.Unmarshal([]byte(s.P), &p); err != nil {
		return nil
	}
	return &p
}

// officialLayout splits msg the way socket.io-parser 4.2.7 reads it
// (Decoder.decodeString, on the UTF-8 decoding of msg): the type character
// (-1 for an empty message), the attachment count text of a binary type
// (up to the first '-') and the text read as the ack id (after the
// namespace, the characters c for which JavaScript's Number(c) == c).
func officialLayout(msg []byte) (typ rune, count, id string) {
	rs := []rune(string(msg))
	if len(rs) == 0 {
		return -1, "", ""
	}
	typ = rs[0]
	i := 0
	if typ == '5' || typ == '6' {
		i = 1
		for i < len(rs) && rs[i] != '-' {
			i++
		}
		count = string(rs[1:i])
	}
	if i+1 < len(rs) && rs[i+1] == '/' {
		i++
		for i < len(rs) && rs[i] != ',' {
			i++
		}
	}
	j := i + 1
	for j < len(rs) && (rs[j] >= '0' && rs[j] <= '9' || jsSpace(rs[j])) {
		j++
	}
	if j > i+1 {
		id = string(rs[i+1 : j])
	}
	return typ, count, id
}

// jsSpace reports whether JavaScript's Number() skips r as whitespace.
func jsSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', '\u2028', '\u2029', '\ufeff':
		return true
	}
	return unicode.Is(unicode.Zs, r)
}

// sioSeeds are the text messages of the other fuzz targets and the test
// suites, with edge cases of the format.
func sioSeeds() []string {
	var seeds []string
	for _, r := range goldenRows {
		seeds = append(seeds, r.wire)
	}
	seeds = append(seeds,
		`40/random`[1:], `2["\u0063onnect"]`, `51-["a",{"_placeholder":true,"num":0.0}]`, `2[1e400]`,
		`511-["a"]`, `42abc[1]`[1:], `2["a",{"k":[1,{"x":null}]}]`, `2 ["a"] `, `0/a,5{}`, `50-["a"]`,
		// The socket.io-protocol test suite.
		`0`, `0{"token":"123"}`, `0/custom,`, `0/custom,{"token":"abc"}`, `0/random`, `abc`, `1`, `1/custom`,
		`2["message","message to main namespace"]`, `2["message",1,"2",{"3":[true]}]`,
		`52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
		`2456["message-with-ack",1,"2",{"3":[false]}]`,
		`52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
		`2{}`, `2abc[]`,
		// Edge cases.
		``, ` `, `7`, `2`, `3`, `4`, `21`, `2/a,1`, `51-`, `5`, `5-[]`, `51[]`, `5 1-["a",{"_placeholder":true,"num":0}]`,
		`50x1-["a",{"_placeholder":true,"num":0}]`, `51.0-["a",{"_placeholder":true,"num":0}]`, `2 1["a"]`,
		`51e0-["a",{"_placeholder":true,"num":0}]`, `5+1-["a",{"_placeholder":true,"num":0}]`, `21 2["a"]`, `312`,
		`21 ["a"]`, `2 ["a"]`, "2\t[\"a\"]", "\u00a0", "2\u00a0[\"a\"]", `29007199254740992["a"]`, `299999999999999999999["a"]`,
		`2["a",`+strings.Repeat("[", 101)+strings.Repeat("]", 101)+`]`,
		`51-["a",{"_placeholder":true,"num":1}]`, `51-["a",{"_placeholder":true,"num":0.5}]`,
		`51-["a",{"_placeholder":true,"num":"0"}]`, `51-["a",{"_placeholder":true}]`,
		`51-["a",{"_placeholder":true,"num":0,"x":1}]`, `51-["a",{"_placeholder":false,"num":0}]`,
		`51-["a",{"_placeholder":true,"_placeholder":false,"num":0}]`, `51-["a",{"\u005fplaceholder":true,"num":0}]`,
		`2["a",{"_placeholder":true,"num":0}]`, `3[]`, `3/a,5[]`, `0null`, `0[]`, `0"x"`, `4"x"`, `4{}`, `4[]`, `1{}`,
		`2[1]`, `2[-1.5e3,2]`, `2[true]`, `2[null]`, `2[]`, `2["disconnecting"]`, `2["__proto__",{"__proto__":1}]`,
		`2["a"]x`, `2["a"] `, "2[\"a\"]\n", `2["\ud800"]`, "2[\"\xff\"]", "2/\xff,[\"a\"]", `2/a/b,["a"]`, `2/,["a"]`,
		`61-[{"_placeholder":true,"num":0}]`, `51-["a",{"_placeholder":true,"num":0,"num":1}]`,
		`51-["a",{"_placeholder":true,"num":1e-400}]`, `51-["a",{"_placeholder":true,"num":1e-19}]`,
		`52-["a",{"_placeholder":true,"num":1.0000000000000001}]`, `51-["a",{"_placeholder":true,"num":-0}]`,
		`51-["a",{"_placeholder":true,"num":0,"x":{"_placeholder":true,"num":5}}]`,
		`51-["a",{"_placeholder":true,"num":0,"x":[{"_placeholder":true}]}]`, `51-["a",{"num":0,"_placeholder":true}]`,
		`51-["a",{"_placeholder":1,"num":0}]`, `51-["a",{"_placeholder":true,"num":0}`, `51-{"_placeholder":true,"num":0}`,
		`52-["a",{"_placeholder":true,"num":1},{"_placeholder":true,"num":1}]`, `51-[1,{"_placeholder":true,"num":0e5}]`, `611-/a,3[{"_placeholder":true,"num":0}]`, `2["a",{"1":2,"b":3,"0":4}]`,
	)
	return seeds
}

// sioMsgs builds the messages of a fuzz input: msg, then parts binary
// messages cut from bin.
func sioMsgs(msg string, bin []byte, parts uint8) []sioMsg {
	msgs := []sioMsg{textMsg(msg)}
	n := int(parts % 12)
	for i := range n {
		msgs = append(msgs, binMsg(bin[len(bin)*i/n:len(bin)*(i+1)/n]))
	}
	return msgs
}

func FuzzDiffSocketIOParser(f *testing.F) {
	for _, s := range sioSeeds() {
		f.Add(s, []byte{1, 2, 3, 4}, uint8(0))
	}
	for _, r := range goldenRows {
		f.Add(r.wire, bytes.Join(r.p.Attachments, nil), uint8(len(r.p.Attachments)))
	}
	f.Add(`52-["a",{"_placeholder":true,"num":1}]`, []byte{1, 2, 3}, uint8(3))
	o := difffuzz.Start(f)
	f.Fuzz(func(t *testing.T, msg string, bin []byte, parts uint8) {
		sioCheck(t, o, sioMsgs(msg, bin, parts))
	})
}

// announced returns the attachment count msg announces, as our decoder
// reads it, or 0.
func announced(msg string) int {
	if len(msg) < 2 || (msg[0] != '5' && msg[0] != '6') {
		return 0
	}
	n := 0
	for _, c := range []byte(msg[1:]) {
		if !isDigit(c) || n > 100 {
			break
		}
		n = n*10 + int(c-'0')
	}
	return min(n, 12)
}

// TestDiffSocketIOParser runs the seeds, each with the attachments it
// announces, and a fixed set of mutations of them through both decoders,
// and checks that each deliberate difference is still one.
func TestDiffSocketIOParser(t *testing.T) {
	o := difffuzz.Start(t)
	withAtts := func(msg string) []sioMsg {
		msgs := []sioMsg{textMsg(msg)}
		for i := range announced(msg) {
			msgs = append(msgs, binMsg(bytes.Repeat([]byte{byte(i)}, i)))
		}
		return msgs
	}
	for _, d := range sioDeliberates {
		msgs := []sioMsg{textMsg(d.example[0])}
		for _, a := range d.example[1:] {
			msgs = append(msgs, binMsg([]byte(a)))
		}
		if got := sioCheck(t, o, msgs); got != d.name {
			t.Errorf("deliberate difference %q: its example %v shows %q", d.name, msgs, got)
		}
	}
	met := map[string]int{}
	seeds := sioSeeds()
	for _, s := range seeds {
		met[sioCheck(t, o, withAtts(s))]++
	}
	rng := rand.New(rand.NewPCG(3, 4))
	n := 4000
	if testing.Short() {
		n = 400
	}
	for range n {
		msg := string(difffuzz.Mutate(rng, []byte(seeds[rng.IntN(len(seeds))]), sioAlphabet))
		met[sioCheck(t, o, withAtts(msg))]++
		if t.Failed() {
			break
		}
	}
	for _, d := range sioDeliberates {
		t.Logf("%d inputs show %q", met[d.name], d.name)
	}
}

// sioAlphabet are the fragments mutations insert.
var sioAlphabet = []string{
	"0", "1", "2", "5", "6", "9", "-", "/", ",", "[", "]", "{", "}", `"`, ":", " ", "\t", "\n", "\u00a0", "\ufeff",
	"\xff", "e", ".", "x", "null", "true", `"a"`, `{"_placeholder":true,"num":0}`, `"_placeholder"`, `"num"`,
	"/nsp,", "\\u0000", "\\ud800",
}
