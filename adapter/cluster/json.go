package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/msgpack"
	"github.com/socketio-go/socketio/parser"
)

// ErrInvalidMessage is wrapped by the errors of DecodeJSON (and of the
// MessagePack decoder) for input that is not a valid message.
var ErrInvalidMessage = errors.New("cluster: invalid message")

// ErrBinary is returned by AppendJSON for a message that holds binary
// values: the official adapters send those as MessagePack.
var ErrBinary = errors.New("cluster: message holds binary values: use MessagePack")

// jsTimeLayout is how JavaScript's Date.prototype.toString writes a date,
// the form of handshake.time on the wire.
const jsTimeLayout = "Mon Jan 02 2006 15:04:05 GMT-0700"

// AppendJSON appends the JSON form of m, as the official adapters write it
// (key order included: type, data, uid, nsp).
func AppendJSON(dst []byte, m *Message) ([]byte, error) {
	if m.HasBinary() {
		return dst, ErrBinary
	}
	return appendMessage(dst, m, nil)
}

// AppendMsgpack appends the MessagePack form of m, as the official adapters
// write a message that holds binary values (notepack.io): the same object
// as the JSON form, binary values as bin.
func AppendMsgpack(dst []byte, m *Message) ([]byte, error) {
	var atts [][]byte
	if m.Packet != nil {
		atts = append(atts, m.Packet.Attachments...)
	}
	text, err := appendMessage(nil, m, &atts)
	if err != nil {
		return dst, err
	}
	return msgpack.FromJSON(dst, text, atts)
}

// DecodeMsgpack decodes a message in the MessagePack form of the official
// adapters.
func DecodeMsgpack(b []byte) (*Message, error) {
	var atts [][]byte
	text, rest, err := msgpack.ToJSON(nil, b, &atts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%w: trailing bytes", ErrInvalidMessage)
	}
	return decodeMessage(text, atts)
}

// appendMessage writes m as JSON. Binary values of socket data become
// placeholders appended to *atts; the packet's placeholders refer to its
// own attachments, which the caller puts first in *atts. With atts nil,
// binary socket data is an error.
func appendMessage(dst []byte, m *Message, atts *[][]byte) ([]byte, error) {
	dst = fmt.Appendf(dst, `{"type":%d`, int(m.Type))
	var err error
	if hasData(m.Type) {
		dst = append(dst, `,"data":`...)
		if dst, err = appendData(dst, m, atts); err != nil {
			return dst, err
		}
	}
	dst = append(dst, `,"uid":`...)
	dst = appendString(dst, m.UID)
	dst = append(dst, `,"nsp":`...)
	dst = appendString(dst, m.NSP)
	return append(dst, '}'), nil
}

// hasData reports whether messages of type t carry a data object.
func hasData(t MessageType) bool {
	switch t {
	case InitialHeartbeat, Heartbeat, AdapterClose:
		return false
	}
	return true
}

func appendString(dst []byte, s string) []byte {
	dst, _ = parser.AppendValue(dst, s, nil)
	return dst
}

func appendData(dst []byte, m *Message, atts *[][]byte) ([]byte, error) {
	dst = append(dst, '{')
	switch m.Type {
	case Broadcast:
		dst = append(dst, `"packet":{"type":2,"data":`...)
		dst = appendRaw(dst, m.Packet)
		dst = append(dst, '}')
		if m.RequestID != "" {
			dst = append(dst, `,"requestId":`...)
			dst = appendString(dst, m.RequestID)
		}
		dst = append(dst, `,"opts":`...)
		dst = AppendOptions(dst, m.Opts)
	case SocketsJoin, SocketsLeave:
		dst = append(dst, `"opts":`...)
		dst = AppendOptions(dst, m.Opts)
		dst = append(dst, `,"rooms":`...)
		dst = AppendStrings(dst, m.Rooms)
	case DisconnectSockets:
		dst = append(dst, `"opts":`...)
		dst = AppendOptions(dst, m.Opts)
		dst = fmt.Appendf(dst, `,"close":%t`, m.Close)
	case FetchSockets:
		dst = append(dst, `"opts":`...)
		dst = AppendOptions(dst, m.Opts)
		dst = append(dst, `,"requestId":`...)
		dst = appendString(dst, m.RequestID)
	case FetchSocketsResponse:
		dst = append(dst, `"requestId":`...)
		dst = appendString(dst, m.RequestID)
		dst = append(dst, `,"sockets":`...)
		var err error
		if dst, err = AppendSockets(dst, m.Sockets, atts); err != nil {
			return dst, err
		}
	case ServerSideEmit:
		if m.RequestID != "" {
			dst = append(dst, `"requestId":`...)
			dst = appendString(dst, m.RequestID)
			dst = append(dst, ',')
		}
		dst = append(dst, `"packet":`...)
		dst = appendRaw(dst, m.Packet)
	case ServerSideEmitResponse, BroadcastAck:
		dst = append(dst, `"requestId":`...)
		dst = appendString(dst, m.RequestID)
		dst = append(dst, `,"packet":`...)
		dst = appendFirst(dst, m.Packet)
	case BroadcastClientCount:
		dst = append(dst, `"requestId":`...)
		dst = appendString(dst, m.RequestID)
		dst = fmt.Appendf(dst, `,"clientCount":%d`, m.ClientCount)
	default:
		return dst, fmt.Errorf("cluster: cannot encode a message of type %d", m.Type)
	}
	return append(dst, '}'), nil
}

// appendRaw appends a packet's raw JSON data, "[]" when there is none.
func appendRaw(dst []byte, p *parser.Packet) []byte {
	if p == nil || len(p.Data) == 0 {
		return append(dst, "[]"...)
	}
	return append(dst, p.Data...)
}

// appendFirst appends the first element of a packet's JSON array (an
// answer carries one value), null when it is empty.
func appendFirst(dst []byte, p *parser.Packet) []byte {
	if p != nil {
		if elems, err := parser.SplitArray(nil, p.Data); err == nil && len(elems) > 0 {
			return append(dst, elems[0]...)
		}
	}
	return append(dst, "null"...)
}

// AppendStrings appends a JSON array of strings.
func AppendStrings(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, ']')
}

// AppendOptions appends broadcast options as socket.io-adapter's
// encodeOptions writes them: {"rooms","except","flags"}, the flags that a
// receiving server uses (volatile, compress when false, and the
// acknowledgement timeout in milliseconds).
func AppendOptions(dst []byte, o adapter.BroadcastOptions) []byte {
	dst = append(dst, `{"rooms":`...)
	dst = AppendStrings(dst, o.Rooms)
	dst = append(dst, `,"except":`...)
	dst = AppendStrings(dst, o.Except)
	dst = append(dst, `,"flags":{`...)
	sep := ""
	if o.Flags.Volatile {
		dst = append(dst, `"volatile":true`...)
		sep = ","
	}
	if o.Flags.NoCompress {
		dst = append(dst, sep+`"compress":false`...)
		sep = ","
	}
	if o.Flags.Timeout > 0 {
		dst = fmt.Appendf(dst, `%s"timeout":%d`, sep, o.Flags.Timeout.Milliseconds())
	}
	return append(dst, "}}"...)
}

// socketJSON is the wire form of a socket in a FETCH_SOCKETS_RESPONSE.
type socketJSON struct {
	ID        string          `json:"id"`
	Handshake json.RawMessage `json:"handshake"`
	Rooms     RoomList        `json:"rooms"`
	Data      json.RawMessage `json:"data,omitempty"`
}

func appendSocket(dst []byte, s adapter.SocketInfo, atts *[][]byte) ([]byte, error) {
	hs, err := marshalHandshake(s.Handshake)
	if err != nil {
		return dst, err
	}
	rooms := s.Rooms
	if rooms == nil {
		rooms = []string{}
	}
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, s.ID)
	dst = append(dst, `,"handshake":`...)
	dst = append(dst, hs...)
	dst = append(dst, `,"rooms":`...)
	dst = AppendStrings(dst, rooms)
	dst = append(dst, `,"data":`...)
	if s.Data == nil {
		// A socket of the official server always has data, {} at first.
		dst = append(dst, "{}"...)
	} else if dst, err = parser.AppendValue(dst, s.Data, atts); err != nil {
		// JSON.stringify's form; binary values as placeholders.
		return dst, fmt.Errorf("cluster: socket %s: data: %w", s.ID, err)
	}
	return append(dst, '}'), nil
}

// AppendSockets appends the sockets as the official adapters write them in
// a fetchSockets answer: a JSON array of {id, handshake, rooms, data}, with
// the binary values of the data as placeholders appended to *atts (with
// atts nil, binary data is an error).
func AppendSockets(dst []byte, sockets []adapter.SocketInfo, atts *[][]byte) ([]byte, error) {
	dst = append(dst, '[')
	for i, s := range sockets {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = appendSocket(dst, s, atts); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

// handshakeJSON is the wire form of a handshake: headers and query as
// JavaScript objects of strings (or arrays), time as JavaScript writes a
// Date.
type handshakeJSON struct {
	Headers map[string]any  `json:"headers"`
	Time    string          `json:"time"`
	Address string          `json:"address"`
	XDomain bool            `json:"xdomain"`
	Secure  bool            `json:"secure"`
	Issued  int64           `json:"issued"`
	URL     string          `json:"url"`
	Query   map[string]any  `json:"query"`
	Auth    json.RawMessage `json:"auth"`
}

func marshalHandshake(h *adapter.Handshake) ([]byte, error) {
	if h == nil {
		h = &adapter.Handshake{}
	}
	w := handshakeJSON{
		Headers: make(map[string]any, len(h.Headers)),
		Time:    h.Time.Format(jsTimeLayout) + " (" + zoneName(h.Time) + ")",
		Address: h.Address,
		XDomain: h.XDomain,
		Secure:  h.Secure,
		Issued:  h.Issued,
		URL:     h.URL,
		Query:   make(map[string]any, len(h.Query)),
		Auth:    json.RawMessage(h.RawAuth),
	}
	for k, vs := range h.Headers {
		k = strings.ToLower(k)
		switch {
		case len(vs) == 1:
			w.Headers[k] = vs[0]
		case k == "set-cookie":
			w.Headers[k] = vs
		case len(vs) > 1:
			w.Headers[k] = strings.Join(vs, ", ") // as Node joins repeated headers
		}
	}
	for k, vs := range h.Query {
		if len(vs) == 1 {
			w.Query[k] = vs[0]
		} else {
			w.Query[k] = vs
		}
	}
	if len(w.Auth) == 0 {
		if h.Auth != nil {
			b, err := json.Marshal(h.Auth)
			if err != nil {
				return nil, err
			}
			w.Auth = b
		} else {
			w.Auth = json.RawMessage("{}")
		}
	}
	// As JSON.stringify: no HTML escaping.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func zoneName(t time.Time) string {
	name, _ := t.Zone()
	if name == "UTC" {
		return "Coordinated Universal Time"
	}
	return name
}

func unmarshalHandshake(raw []byte) (*adapter.Handshake, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return &adapter.Handshake{}, nil
	}
	var w struct {
		Headers map[string]json.RawMessage `json:"headers"`
		Address string                     `json:"address"`
		XDomain bool                       `json:"xdomain"`
		Secure  bool                       `json:"secure"`
		Issued  float64                    `json:"issued"`
		URL     string                     `json:"url"`
		Query   map[string]json.RawMessage `json:"query"`
		Auth    json.RawMessage            `json:"auth"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, err
	}
	h := &adapter.Handshake{
		Headers: http.Header{},
		Address: w.Address,
		XDomain: w.XDomain,
		Secure:  w.Secure,
		URL:     w.URL,
		Query:   url.Values{},
		RawAuth: []byte(w.Auth),
	}
	if !math.IsNaN(w.Issued) && !math.IsInf(w.Issued, 0) && math.Abs(w.Issued) < 1e15 {
		h.Issued = int64(w.Issued)
		h.Time = time.UnixMilli(h.Issued)
	}
	for k, v := range w.Headers {
		h.Headers[http.CanonicalHeaderKey(k)] = stringOrStrings(v)
	}
	for k, v := range w.Query {
		h.Query[k] = stringOrStrings(v)
	}
	if len(w.Auth) > 0 && w.Auth[0] == '{' {
		_ = json.Unmarshal(w.Auth, &h.Auth)
	}
	return h, nil
}

// stringOrStrings reads a header or query value: a string, or an array of
// strings; anything else is kept as its JSON text.
func stringOrStrings(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil {
		return ss
	}
	return []string{string(raw)}
}

// RoomList is a list of rooms as it comes from the broker: strings, or
// numbers (a Node server's socket.join(42) makes a room that is the number
// 42), which become their decimal form as JavaScript's String writes it.
type RoomList []string

// UnmarshalJSON reads an array of strings and numbers.
func (l *RoomList) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(RoomList, 0, len(raw))
	for _, r := range raw {
		var s string
		if err := json.Unmarshal(r, &s); err == nil {
			out = append(out, s)
			continue
		}
		var f float64
		if err := json.Unmarshal(r, &f); err != nil {
			return fmt.Errorf("room %s is neither a string nor a number", r)
		}
		num, err := parser.AppendValue(nil, f, nil)
		if err != nil {
			return err
		}
		out = append(out, string(num))
	}
	*l = out
	return nil
}

// envelope is a message as it comes from the broker.
type envelope struct {
	Type *int            `json:"type"`
	UID  string          `json:"uid"`
	NSP  string          `json:"nsp"`
	Data json.RawMessage `json:"data"`
}

type dataJSON struct {
	Packet      json.RawMessage `json:"packet"`
	Opts        *optsJSON       `json:"opts"`
	RequestID   *string         `json:"requestId"`
	Rooms       RoomList        `json:"rooms"`
	Close       bool            `json:"close"`
	ClientCount *float64        `json:"clientCount"`
	Sockets     []socketJSON    `json:"sockets"`
}

type optsJSON struct {
	Rooms  RoomList `json:"rooms"`
	Except RoomList `json:"except"`
	Flags  struct {
		Volatile bool     `json:"volatile"`
		Compress *bool    `json:"compress"`
		Timeout  *float64 `json:"timeout"`
	} `json:"flags"`
}

// DecodeJSON decodes a message in the JSON form of the official adapters.
// Binary values cannot appear in it (they come as MessagePack).
func DecodeJSON(b []byte) (*Message, error) { return decodeMessage(b, nil) }

// decodeMessage decodes the JSON form of a message whose placeholders
// refer to atts (from MessagePack).
func decodeMessage(b []byte, atts [][]byte) (*Message, error) {
	var e envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	if e.Type == nil || *e.Type < int(InitialHeartbeat) || *e.Type > int(maxMessageType) {
		return nil, fmt.Errorf("%w: unknown type", ErrInvalidMessage)
	}
	m := &Message{Type: MessageType(*e.Type), UID: e.UID, NSP: e.NSP}
	if !hasData(m.Type) {
		return m, nil
	}
	var d dataJSON
	if len(e.Data) == 0 || json.Unmarshal(e.Data, &d) != nil {
		return nil, fmt.Errorf("%w: type %d without a valid data object", ErrInvalidMessage, m.Type)
	}
	if err := fillMessage(m, &d, atts); err != nil {
		return nil, err
	}
	return m, nil
}

// fillMessage copies what m's type needs from d, checking it.
func fillMessage(m *Message, d *dataJSON, atts [][]byte) error {
	bad := func(what string) error {
		return fmt.Errorf("%w: type %d: %s", ErrInvalidMessage, m.Type, what)
	}
	if d.RequestID != nil {
		m.RequestID = *d.RequestID
	}
	needRequest := func() error {
		if m.RequestID == "" {
			return bad("no requestId")
		}
		return nil
	}
	opts := func() error {
		if d.Opts == nil {
			return bad("no opts")
		}
		m.Opts = adapter.BroadcastOptions{Rooms: d.Opts.Rooms, Except: d.Opts.Except}
		m.Opts.Flags.Volatile = d.Opts.Flags.Volatile
		m.Opts.Flags.NoCompress = d.Opts.Flags.Compress != nil && !*d.Opts.Flags.Compress
		if t := d.Opts.Flags.Timeout; t != nil && *t > 0 && *t < 1e12 {
			m.Opts.Flags.Timeout = time.Duration(*t) * time.Millisecond
		}
		return nil
	}
	switch m.Type {
	case Broadcast:
		if err := opts(); err != nil {
			return err
		}
		var pk struct {
			Data json.RawMessage `json:"data"`
		}
		if json.Unmarshal(d.Packet, &pk) != nil || len(pk.Data) == 0 || pk.Data[0] != '[' {
			return bad("no packet")
		}
		m.Packet = &parser.Packet{Type: parser.Event, ID: parser.NoID, Namespace: m.NSP, Data: compact(pk.Data), Attachments: atts}
	case SocketsJoin, SocketsLeave:
		if err := opts(); err != nil {
			return err
		}
		m.Rooms = d.Rooms
	case DisconnectSockets:
		if err := opts(); err != nil {
			return err
		}
		m.Close = d.Close
	case FetchSockets:
		if err := opts(); err != nil {
			return err
		}
		return needRequest()
	case FetchSocketsResponse:
		if err := needRequest(); err != nil {
			return err
		}
		for _, s := range d.Sockets {
			info, err := socketInfo(s, atts)
			if err != nil {
				return bad(err.Error())
			}
			m.Sockets = append(m.Sockets, info)
		}
	case ServerSideEmit:
		if len(d.Packet) == 0 || d.Packet[0] != '[' {
			return bad("no packet")
		}
		m.Packet = &parser.Packet{Type: parser.Event, ID: parser.NoID, Namespace: m.NSP, Data: compact(d.Packet), Attachments: atts}
	case ServerSideEmitResponse, BroadcastAck:
		if err := needRequest(); err != nil {
			return err
		}
		v := d.Packet
		if len(v) == 0 {
			v = json.RawMessage("null")
		}
		data := append(append([]byte{'['}, compact(v)...), ']')
		m.Packet = &parser.Packet{Type: parser.Ack, ID: parser.NoID, Namespace: m.NSP, Data: data, Attachments: atts}
	case BroadcastClientCount:
		if err := needRequest(); err != nil {
			return err
		}
		if d.ClientCount == nil || *d.ClientCount < 0 || *d.ClientCount > 1<<31 {
			return bad("no clientCount")
		}
		m.ClientCount = int(*d.ClientCount)
	}
	return nil
}

// compact returns JSON text without insignificant spaces (the official
// adapters write it compact already).
func compact(raw []byte) []byte {
	if !slices.ContainsFunc(raw, func(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }) {
		return raw
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}

// DecodeSockets decodes the sockets of a fetchSockets answer, the JSON
// array AppendSockets writes, whose placeholders refer to atts.
func DecodeSockets(raw []byte, atts [][]byte) ([]adapter.SocketInfo, error) {
	var list []socketJSON
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("%w: sockets: %w", ErrInvalidMessage, err)
	}
	out := make([]adapter.SocketInfo, 0, len(list))
	for _, s := range list {
		info, err := socketInfo(s, atts)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
		}
		out = append(out, info)
	}
	return out, nil
}

func socketInfo(s socketJSON, atts [][]byte) (adapter.SocketInfo, error) {
	hs, err := unmarshalHandshake(s.Handshake)
	if err != nil {
		return adapter.SocketInfo{}, fmt.Errorf("socket %q: handshake: %w", s.ID, err)
	}
	info := adapter.SocketInfo{ID: s.ID, Rooms: []string(s.Rooms), Handshake: hs}
	if len(s.Data) > 0 && string(s.Data) != "null" {
		if err := parser.DecodeValue(s.Data, atts, &info.Data); err != nil {
			return adapter.SocketInfo{}, fmt.Errorf("socket %q: data: %w", s.ID, err)
		}
	}
	return info, nil
}
