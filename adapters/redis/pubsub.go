package redis

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/adapter/cluster"
	"github.com/socketio-go/socketio/msgpack"
	"github.com/socketio-go/socketio/parser"
)

// Options configure NewAdapter.
type Options struct {
	// Key is the prefix of the channels. Zero means "socket.io".
	Key string
	// RequestsTimeout bounds a request to the other servers (FetchSockets,
	// ServerSideEmitWithAck). Zero means 5s.
	RequestsTimeout time.Duration
	// PublishOnSpecificResponseChannel sends each response to the
	// requester's own channel instead of the shared response channel, as
	// the official option of that name (all servers of the cluster must
	// agree on it).
	PublishOnSpecificResponseChannel bool
	// Logger receives the adapter's diagnostics. Nil means slog.Default().
	Logger *slog.Logger
}

// Request types of the classic protocol.
const (
	reqSockets              = 0
	reqAllRooms             = 1
	reqRemoteJoin           = 2
	reqRemoteLeave          = 3
	reqRemoteDisconnect     = 4
	reqRemoteFetch          = 5
	reqServerSideEmit       = 6
	reqBroadcast            = 7
	reqBroadcastClientCount = 8
	reqBroadcastAck         = 9
)

// NewAdapter returns an adapter.Factory for a cluster on Redis pub/sub,
// wire-compatible with the official @socket.io/redis-adapter 8.3's
// createAdapter: Go and Node servers on the same Redis, with the same key,
// form one cluster.
//
// Broadcasts are published on "<key>#<nsp>#" (or "<key>#<nsp>#<room>#" for
// a single room) as MessagePack, requests on "<key>-request#<nsp>#" and
// responses on "<key>-response#<nsp>#", as the official adapter does; the
// number of servers is the number of subscribers of the request channel.
// Messages published while the connection to Redis is down are lost
// (pub/sub keeps nothing); the subscriptions are restored when Redis is
// back. Once a command failed on the network, publishing and counting the
// servers fail at once (broadcasts are still delivered locally) until
// Redis answers a PING again, probed every 100ms: only the first
// broadcast waits for the client's own retries and timeouts. With
// go-redis, set ContextTimeoutEnabled on the client so that
// RequestsTimeout also bounds a request to a Redis that does not answer.
func NewAdapter(client goredis.UniversalClient, opts Options) adapter.Factory {
	if opts.Key == "" {
		opts.Key = "socket.io"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return func(nsp adapter.Namespace) adapter.Adapter {
		name := nsp.Name()
		t := &pubsubTransport{
			client:   client,
			opts:     opts,
			nsp:      name,
			channel:  opts.Key + "#" + name + "#",
			request:  opts.Key + "-request#" + name + "#",
			response: opts.Key + "-response#" + name + "#",
			outage:   newOutage(client),
		}
		a := cluster.New(nsp, t, cluster.Options{UID: uid2(6), RequestsTimeout: opts.RequestsTimeout, Logger: opts.Logger})
		t.a = a
		t.uid = a.UID()
		t.specific = t.response + t.uid + "#"
		return a
	}
}

// uid2 returns n random characters of [A-Za-z0-9_-], the form of the
// official adapter's ids.
func uid2(n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = chars[b[i]&63]
	}
	return string(b)
}

type pubsubTransport struct {
	client   goredis.UniversalClient
	opts     Options
	a        *cluster.Adapter
	nsp      string
	uid      string
	channel  string // key#nsp#
	request  string // key-request#nsp#
	response string // key-response#nsp#
	specific string // key-response#nsp#uid#

	ps     *goredis.PubSub
	done   chan struct{}
	outage *outage
}

func (t *pubsubTransport) Start(ctx context.Context, deliver func(*cluster.Message, string)) error {
	t.ps = t.client.PSubscribe(ctx, t.channel+"*")
	if err := t.ps.Subscribe(ctx, t.request, t.response, t.specific); err != nil {
		_ = t.ps.Close()
		return fmt.Errorf("redis: SUBSCRIBE: %w", err)
	}
	// Wait for the four confirmations: the other servers count this one
	// from now on.
	for confirmed := 0; confirmed < 4; {
		msg, err := t.ps.Receive(ctx)
		if err != nil {
			_ = t.ps.Close()
			return fmt.Errorf("redis: subscribing: %w", err)
		}
		if _, ok := msg.(*goredis.Subscription); ok {
			confirmed++
		}
	}
	t.done = make(chan struct{})
	ch := t.ps.Channel(goredis.WithChannelSize(1024))
	go func() {
		defer close(t.done)
		for msg := range ch {
			m, err := t.decode(msg.Channel, []byte(msg.Payload))
			if err != nil {
				t.opts.Logger.Warn("redis: malformed message dropped", "channel", msg.Channel, "err", err)
				continue
			}
			if m != nil {
				deliver(m, "")
			}
		}
	}()
	return nil
}

func (t *pubsubTransport) Close(context.Context) error {
	t.outage.close()
	if t.ps == nil {
		return nil
	}
	err := t.ps.Close()
	<-t.done
	return err
}

func (t *pubsubTransport) ServerCount(ctx context.Context) (int, error) {
	if err := t.outage.check(); err != nil {
		return 0, err
	}
	res, err := t.client.PubSubNumSub(ctx, t.request).Result()
	if err != nil {
		return 0, t.outage.report(err)
	}
	return int(res[t.request]), nil
}

func (t *pubsubTransport) Publish(ctx context.Context, m *cluster.Message) (string, error) {
	channel, b, err := t.encode(m)
	if err != nil {
		return "", err
	}
	return "", t.publish(ctx, channel, b)
}

// publish publishes b, or fails at once during an outage.
func (t *pubsubTransport) publish(ctx context.Context, channel string, b []byte) error {
	if err := t.outage.check(); err != nil {
		return err
	}
	return t.outage.report(t.client.Publish(ctx, channel, b).Err())
}

func (t *pubsubTransport) PublishResponse(ctx context.Context, to string, m *cluster.Message) error {
	_, b, err := t.encode(m)
	if err != nil {
		return err
	}
	channel := t.response
	if t.opts.PublishOnSpecificResponseChannel {
		channel = t.response + to + "#"
	}
	return t.publish(ctx, channel, b)
}

// Encoding, as the official adapter writes each message.

func appendStr(dst []byte, s string) []byte {
	dst, _ = parser.AppendValue(dst, s, nil)
	return dst
}

// appendReqOpts writes {"rooms","except"} as requests carry them.
func appendReqOpts(dst []byte, o adapter.BroadcastOptions) []byte {
	dst = append(dst, `{"rooms":`...)
	dst = cluster.AppendStrings(dst, o.Rooms)
	dst = append(dst, `,"except":`...)
	dst = cluster.AppendStrings(dst, o.Except)
	return append(dst, '}')
}

func rawData(p *parser.Packet) []byte {
	if p == nil || len(p.Data) == 0 {
		return []byte("[]")
	}
	return p.Data
}

// first returns the first element of a packet's JSON array, null when
// there is none: an answer carries one value.
func first(p *parser.Packet) []byte {
	if p != nil {
		if elems, err := parser.SplitArray(nil, p.Data); err == nil && len(elems) > 0 {
			return elems[0]
		}
	}
	return []byte("null")
}

func attachments(p *parser.Packet) [][]byte {
	if p == nil {
		return nil
	}
	return p.Attachments
}

// encode returns the channel and bytes of m.
func (t *pubsubTransport) encode(m *cluster.Message) (string, []byte, error) {
	var b []byte
	switch m.Type {
	case cluster.Broadcast:
		if m.RequestID == "" {
			b = append(b, '[')
			b = appendStr(b, m.UID)
			b = append(b, `,{"type":2,"data":`...)
			b = append(b, rawData(m.Packet)...)
			b = append(b, `,"nsp":`...)
			b = appendStr(b, t.nsp)
			b = append(b, "},"...)
			b = cluster.AppendOptions(b, m.Opts)
			b = append(b, ']')
			out, err := msgpack.FromJSON(nil, b, attachments(m.Packet))
			channel := t.channel
			if len(m.Opts.Rooms) == 1 {
				channel += m.Opts.Rooms[0] + "#"
			}
			return channel, out, err
		}
		b = append(b, `{"uid":`...)
		b = appendStr(b, m.UID)
		b = append(b, `,"requestId":`...)
		b = appendStr(b, m.RequestID)
		b = fmt.Appendf(b, `,"type":%d,"packet":{"type":2,"data":`, reqBroadcast)
		b = append(b, rawData(m.Packet)...)
		b = append(b, `,"nsp":`...)
		b = appendStr(b, t.nsp)
		b = append(b, `},"opts":`...)
		b = cluster.AppendOptions(b, m.Opts)
		b = append(b, '}')
		out, err := msgpack.FromJSON(nil, b, attachments(m.Packet))
		return t.request, out, err
	case cluster.SocketsJoin, cluster.SocketsLeave, cluster.DisconnectSockets:
		typ := reqRemoteJoin
		if m.Type == cluster.SocketsLeave {
			typ = reqRemoteLeave
		} else if m.Type == cluster.DisconnectSockets {
			typ = reqRemoteDisconnect
		}
		b = append(b, `{"uid":`...)
		b = appendStr(b, m.UID)
		b = fmt.Appendf(b, `,"type":%d,"opts":`, typ)
		b = appendReqOpts(b, m.Opts)
		if m.Type == cluster.DisconnectSockets {
			b = fmt.Appendf(b, `,"close":%t}`, m.Close)
		} else {
			b = append(b, `,"rooms":`...)
			b = cluster.AppendStrings(b, m.Rooms)
			b = append(b, '}')
		}
		return t.request, b, nil
	case cluster.FetchSockets:
		b = append(b, `{"uid":`...)
		b = appendStr(b, m.UID)
		b = append(b, `,"requestId":`...)
		b = appendStr(b, m.RequestID)
		b = fmt.Appendf(b, `,"type":%d,"opts":`, reqRemoteFetch)
		b = appendReqOpts(b, m.Opts)
		return t.request, append(b, '}'), nil
	case cluster.ServerSideEmit:
		b = append(b, `{"uid":`...)
		b = appendStr(b, m.UID)
		if m.RequestID != "" {
			b = append(b, `,"requestId":`...)
			b = appendStr(b, m.RequestID)
		}
		b = fmt.Appendf(b, `,"type":%d,"data":`, reqServerSideEmit)
		b = append(b, rawData(m.Packet)...)
		b = append(b, '}')
		if len(attachments(m.Packet)) > 0 {
			out, err := msgpack.FromJSON(nil, b, attachments(m.Packet))
			return t.request, out, err
		}
		return t.request, b, nil
	case cluster.FetchSocketsResponse:
		// {requestId, sockets}: JSON, or MessagePack when the sockets'
		// data hold binary values (Node servers read both).
		var atts [][]byte
		b = append(b, `{"requestId":`...)
		b = appendStr(b, m.RequestID)
		b = append(b, `,"sockets":`...)
		var err error
		if b, err = cluster.AppendSockets(b, m.Sockets, &atts); err != nil {
			return "", nil, err
		}
		b = append(b, '}')
		if len(atts) > 0 {
			out, err := msgpack.FromJSON(nil, b, atts)
			return t.response, out, err
		}
		return t.response, b, nil
	case cluster.ServerSideEmitResponse:
		b = fmt.Appendf(b, `{"type":%d,"requestId":`, reqServerSideEmit)
		b = appendStr(b, m.RequestID)
		b = append(b, `,"data":`...)
		b = append(b, first(m.Packet)...)
		b = append(b, '}')
		if len(attachments(m.Packet)) > 0 {
			out, err := msgpack.FromJSON(nil, b, attachments(m.Packet))
			return t.response, out, err
		}
		return t.response, b, nil
	case cluster.BroadcastClientCount:
		b = fmt.Appendf(b, `{"type":%d,"requestId":`, reqBroadcastClientCount)
		b = appendStr(b, m.RequestID)
		b = fmt.Appendf(b, `,"clientCount":%d}`, m.ClientCount)
		return t.response, b, nil
	case cluster.BroadcastAck:
		b = fmt.Appendf(b, `{"type":%d,"requestId":`, reqBroadcastAck)
		b = appendStr(b, m.RequestID)
		b = append(b, `,"packet":`...)
		b = append(b, first(m.Packet)...)
		b = append(b, '}')
		out, err := msgpack.FromJSON(nil, b, attachments(m.Packet))
		return t.response, out, err
	}
	return "", nil, fmt.Errorf("redis: no classic form for messages of type %d", m.Type)
}

// Decoding.

// classicJSON is a classic request or response in JSON form (MessagePack is
// converted to this form first).
type classicJSON struct {
	UID         string           `json:"uid"`
	RequestID   *string          `json:"requestId"`
	Type        *int             `json:"type"`
	Opts        *reqOpts         `json:"opts"`
	Rooms       cluster.RoomList `json:"rooms"`
	Close       bool             `json:"close"`
	Data        json.RawMessage  `json:"data"`
	Packet      json.RawMessage  `json:"packet"`
	Sockets     json.RawMessage  `json:"sockets"`
	ClientCount *float64         `json:"clientCount"`
}

type reqOpts struct {
	Rooms  cluster.RoomList `json:"rooms"`
	Except cluster.RoomList `json:"except"`
	Flags  struct {
		Volatile bool     `json:"volatile"`
		Compress *bool    `json:"compress"`
		Timeout  *float64 `json:"timeout"`
	} `json:"flags"`
}

func (o *reqOpts) options() adapter.BroadcastOptions {
	if o == nil {
		return adapter.BroadcastOptions{}
	}
	bo := adapter.BroadcastOptions{Rooms: o.Rooms, Except: o.Except}
	bo.Flags.Volatile = o.Flags.Volatile
	bo.Flags.NoCompress = o.Flags.Compress != nil && !*o.Flags.Compress
	if tm := o.Flags.Timeout; tm != nil && *tm > 0 && *tm < 1e12 {
		bo.Flags.Timeout = time.Duration(*tm) * time.Millisecond
	}
	return bo
}

// toJSON returns the JSON text of a message that may be MessagePack, with
// the attachments its placeholders refer to.
func toJSON(b []byte) ([]byte, [][]byte, error) {
	if len(b) == 0 {
		return nil, nil, errors.New("empty message")
	}
	if b[0] == '{' {
		return b, nil, nil
	}
	var atts [][]byte
	text, rest, err := msgpack.ToJSON(nil, b, &atts)
	if err != nil {
		return nil, nil, err
	}
	if len(rest) > 0 {
		return nil, nil, errors.New("trailing bytes")
	}
	return text, atts, nil
}

// decode turns a message received on channel into a cluster message, or
// nil when it is not for this server.
func (t *pubsubTransport) decode(channel string, b []byte) (*cluster.Message, error) {
	switch {
	case channel == t.request:
		return t.decodeRequest(b)
	case channel == t.response || channel == t.specific:
		return t.decodeResponse(b)
	case len(channel) >= len(t.channel) && channel[:len(t.channel)] == t.channel:
		return t.decodeBroadcast(channel, b)
	}
	return nil, nil
}

func (t *pubsubTransport) decodeBroadcast(channel string, b []byte) (*cluster.Message, error) {
	if room := channel[len(t.channel):]; room != "" {
		room = room[:len(room)-1] // the trailing #
		if !t.a.HasRoom(room) {
			return nil, nil
		}
	}
	text, atts, err := toJSON(b)
	if err != nil {
		return nil, err
	}
	var arr []json.RawMessage
	if err := json.Unmarshal(text, &arr); err != nil || len(arr) != 3 {
		return nil, errors.New("broadcast is not [uid, packet, opts]")
	}
	var (
		uid string
		pk  struct {
			Data json.RawMessage `json:"data"`
			NSP  *string         `json:"nsp"`
		}
		opts reqOpts
	)
	if json.Unmarshal(arr[0], &uid) != nil || json.Unmarshal(arr[1], &pk) != nil || json.Unmarshal(arr[2], &opts) != nil {
		return nil, errors.New("broadcast fields of the wrong types")
	}
	nsp := "/"
	if pk.NSP != nil {
		nsp = *pk.NSP
	}
	if nsp != t.nsp || uid == t.uid {
		return nil, nil
	}
	if len(pk.Data) == 0 || pk.Data[0] != '[' {
		return nil, errors.New("broadcast packet without data")
	}
	return &cluster.Message{
		Type: cluster.Broadcast, UID: uid, NSP: t.nsp, Opts: opts.options(),
		Packet: &parser.Packet{Type: parser.Event, ID: parser.NoID, Namespace: t.nsp, Data: pk.Data, Attachments: atts},
	}, nil
}

func (t *pubsubTransport) decodeRequest(b []byte) (*cluster.Message, error) {
	text, atts, err := toJSON(b)
	if err != nil {
		return nil, err
	}
	var r classicJSON
	if err := json.Unmarshal(text, &r); err != nil || r.Type == nil {
		return nil, errors.New("request without a type")
	}
	if r.UID == t.uid {
		return nil, nil
	}
	m := &cluster.Message{UID: r.UID, NSP: t.nsp}
	if r.RequestID != nil {
		m.RequestID = *r.RequestID
	}
	switch *r.Type {
	case reqRemoteJoin, reqRemoteLeave, reqRemoteDisconnect:
		if r.Opts == nil {
			return nil, nil // by socket id: not sent by socket.io 4
		}
		m.Opts = r.Opts.options()
		m.Rooms, m.Close = r.Rooms, r.Close
		m.Type = map[int]cluster.MessageType{reqRemoteJoin: cluster.SocketsJoin, reqRemoteLeave: cluster.SocketsLeave, reqRemoteDisconnect: cluster.DisconnectSockets}[*r.Type]
	case reqRemoteFetch:
		if m.RequestID == "" {
			return nil, errors.New("fetch without a requestId")
		}
		m.Type, m.Opts = cluster.FetchSockets, r.Opts.options()
	case reqServerSideEmit:
		if len(r.Data) == 0 || r.Data[0] != '[' {
			return nil, errors.New("serverSideEmit without data")
		}
		m.Type = cluster.ServerSideEmit
		m.Packet = &parser.Packet{Type: parser.Event, ID: parser.NoID, Namespace: t.nsp, Data: r.Data, Attachments: atts}
	case reqBroadcast:
		var pk struct {
			Data json.RawMessage `json:"data"`
		}
		if m.RequestID == "" || json.Unmarshal(r.Packet, &pk) != nil || len(pk.Data) == 0 || pk.Data[0] != '[' {
			return nil, errors.New("broadcast request without requestId or packet")
		}
		m.Type, m.Opts = cluster.Broadcast, r.Opts.options()
		m.Packet = &parser.Packet{Type: parser.Event, ID: parser.NoID, Namespace: t.nsp, Data: pk.Data, Attachments: atts}
	case reqAllRooms, reqSockets:
		t.answerLegacy(&r)
		return nil, nil
	default:
		return nil, fmt.Errorf("unknown request type %d", *r.Type)
	}
	return m, nil
}

// answerLegacy answers the requests of older official adapters that this
// server does not make itself: allRooms and sockets.
func (t *pubsubTransport) answerLegacy(r *classicJSON) {
	if r.RequestID == nil || t.client == nil {
		return
	}
	var b []byte
	b = append(b, `{"requestId":`...)
	b = appendStr(b, *r.RequestID)
	if *r.Type == reqAllRooms {
		b = append(b, `,"rooms":`...)
		b = cluster.AppendStrings(b, t.a.Rooms())
	} else {
		b = append(b, `,"sockets":`...)
		b = cluster.AppendStrings(b, t.a.Sockets(r.Rooms))
	}
	b = append(b, '}')
	channel := t.response
	if t.opts.PublishOnSpecificResponseChannel {
		channel = t.response + r.UID + "#"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = t.publish(ctx, channel, b)
}

func (t *pubsubTransport) decodeResponse(b []byte) (*cluster.Message, error) {
	text, atts, err := toJSON(b)
	if err != nil {
		return nil, err
	}
	var r classicJSON
	if err := json.Unmarshal(text, &r); err != nil || r.RequestID == nil {
		return nil, errors.New("response without a requestId")
	}
	m := &cluster.Message{NSP: t.nsp, RequestID: *r.RequestID}
	switch {
	case r.Sockets != nil:
		socks, err := cluster.DecodeSockets(r.Sockets, atts)
		if err != nil {
			return nil, err
		}
		m.Type, m.Sockets = cluster.FetchSocketsResponse, socks
	case r.Type == nil:
		return nil, nil // an allRooms or sockets answer: not asked by this server
	case *r.Type == reqServerSideEmit:
		v := r.Data
		if len(v) == 0 {
			v = json.RawMessage("null")
		}
		m.Type = cluster.ServerSideEmitResponse
		m.Packet = &parser.Packet{Type: parser.Ack, ID: parser.NoID, Data: append(append([]byte{'['}, v...), ']'), Attachments: atts}
	case *r.Type == reqBroadcastClientCount:
		if r.ClientCount == nil || *r.ClientCount < 0 || *r.ClientCount > 1<<31 {
			return nil, errors.New("client count out of range")
		}
		m.Type, m.ClientCount = cluster.BroadcastClientCount, int(*r.ClientCount)
	case *r.Type == reqBroadcastAck:
		v := r.Packet
		if len(v) == 0 {
			v = json.RawMessage("null")
		}
		m.Type = cluster.BroadcastAck
		m.Packet = &parser.Packet{Type: parser.Ack, ID: parser.NoID, Data: append(append([]byte{'['}, v...), ']'), Attachments: atts}
	default:
		return nil, fmt.Errorf("unknown response type %d", *r.Type)
	}
	return m, nil
}
