package redis

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/msgpack"
)

// garbage is what a broken or hostile publisher may put on the adapters'
// channels: not JSON nor MessagePack, the wrong types, unknown message
// types, lengths far beyond the message, truncations, deep nesting, and
// answers to requests nobody made.
func garbage(t testing.TB) [][]byte {
	bcast, err := msgpack.FromJSON(nil, []byte(`["u",{"type":2,"data":["n",1],"nsp":"/"},{"rooms":["room"],"except":[],"flags":{}}]`), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := [][]byte{
		nil, []byte("{"), []byte("\xff"), []byte("\xc1"), []byte("null"), []byte("[]"), []byte("42"), []byte(`"s"`), []byte("{}"),
		bcast[:len(bcast)/2], bcast[:len(bcast)-1], append(slices.Clone(bcast), 0xc0),
		// huge lengths: array32, map32, str32, bin32, ext32 of 4 GiB
		[]byte("\xdd\xff\xff\xff\xff"), []byte("\xdf\xff\xff\xff\xff"), []byte("\xdb\xff\xff\xff\xff"), []byte("\xc6\xff\xff\xff\xff"), []byte("\xc9\xff\xff\xff\xff\x00"),
		// deep nesting
		append(bytes.Repeat([]byte{0x91}, 100000), 0xc0), []byte(strings.Repeat("[", 100000)), []byte(`{"a":` + strings.Repeat(`{"a":`, 100000)),
		// a megabyte of noise
		bytes.Repeat([]byte("\x93\xa1u\x83\xa4type\x02"), 100000),
		// classic, wrong types or fields
		[]byte(`{"type":"5"}`), []byte(`{"uid":1,"type":5,"requestId":7}`), []byte(`{"uid":"x","type":5}`), []byte(`{"uid":"x","type":99,"requestId":"r"}`),
		[]byte(`{"uid":"x","type":6,"requestId":"r","data":"not an array"}`), []byte(`{"uid":"x","type":7,"requestId":"r","packet":{"data":"x"}}`),
		[]byte(`{"uid":"x","type":2,"opts":{"rooms":"room","except":{}},"rooms":[true]}`), []byte(`{"uid":"x","type":5,"requestId":"r","opts":{"rooms":[[]]}}`),
		[]byte(`{"requestId":"nobody","sockets":[{"id":5}]}`), []byte(`{"requestId":"nobody","sockets":"x"}`), []byte(`{"requestId":"nobody","sockets":[{"id":"s","handshake":{"issued":"x"}}]}`),
		[]byte(`{"type":8,"requestId":"nobody","clientCount":-1}`), []byte(`{"type":8,"requestId":"nobody","clientCount":1e300}`), []byte(`{"type":6,"requestId":"nobody"}`),
		[]byte(`["u",{"type":2,"data":"x","nsp":"/"},{}]`), []byte(`["u",{"type":2,"data":["n"],"nsp":7},{}]`), []byte(`["u",{"type":2,"data":["n"]}]`),
		// sharded, wrong types or fields
		[]byte(`{"type":3,"data":{"packet":{"type":2,"data":"x"}},"uid":"x","nsp":"/"}`), []byte(`{"type":3,"data":null,"uid":"x","nsp":"/"}`),
		[]byte(`{"type":3,"data":{"packet":{"type":2,"data":["e"]},"requestId":"r","opts":{"rooms":[],"except":[],"flags":{"timeout":-5}}},"uid":"x","nsp":"/"}`),
		[]byte(`{"type":7,"data":{},"uid":"x","nsp":"/"}`), []byte(`{"type":9,"data":{"requestId":"r","packet":5},"uid":"x","nsp":"/"}`),
		[]byte(`{"type":8,"data":{"requestId":"nobody","sockets":[{}]},"uid":"x","nsp":"/"}`), []byte(`{"type":11,"data":{"requestId":"nobody","clientCount":1e300},"uid":"x","nsp":"/"}`),
		[]byte(`{"type":12,"data":{"requestId":"nobody"},"uid":"x","nsp":"/"}`), []byte(`{"type":1,"uid":"","nsp":"/"}`), []byte(`{"type":13,"uid":"x","nsp":"/"}`),
		[]byte(`{"type":0,"uid":"x","nsp":"/"}`), []byte(`{"type":1e300,"uid":"x","nsp":"/"}`), []byte(`{"type":3,"data":{"packet":{"type":2,"data":["e"]}},"uid":"x","nsp":7}`),
	}
	for _, b := range out { // the messages above only
		if len(b) > 0 && b[0] == '{' {
			// the same in MessagePack
			if m, err := msgpack.FromJSON(nil, b, nil); err == nil {
				out = append(out, m)
			}
		}
	}
	return out
}

// TestMalformedBrokerMessages publishes garbage on every channel of the
// adapters and checks that the nodes drop it (and log it) and keep
// working: a broadcast, a FetchSockets and a ServerSideEmitWithAck issued
// after it succeed on every node.
func TestMalformedBrokerMessages(t *testing.T) {
	for _, mode := range []string{"classic", "sharded"} {
		t.Run(mode, func(t *testing.T) { testMalformed(t, mode == "sharded") })
	}
}

func testMalformed(t *testing.T, sharded bool) {
	rs := startRedisServer(t)
	prefix := randomPrefix()
	logs, logger := newLogSink(t)
	notify := make(chan struct{}, 1)
	var (
		nodes    []*goNode
		counters []*counter
		ids      []string
	)
	for i := range 2 {
		rdb := goredis.NewClient(&goredis.Options{Addr: rs.addr()})
		t.Cleanup(func() { _ = rdb.Close() })
		var f adapter.Factory
		if sharded {
			f = NewShardedAdapter(rdb, ShardedOptions{ChannelPrefix: prefix, RequestsTimeout: 2 * time.Second, Logger: logger.With("node", i)})
		} else {
			f = NewAdapter(rdb, Options{Key: prefix, RequestsTimeout: 2 * time.Second, Logger: logger.With("node", i)})
		}
		n := startGoNode(t, f, joinFromAuth)
		c := newCounter(notify)
		s := faultClient(t, n.url, map[string]any{"rooms": []string{"room"}}, c, nil, nil)
		nodes, counters, ids = append(nodes, n), append(counters, c), append(ids, s.ID())
	}
	ctl := goredis.NewClient(&goredis.Options{Addr: rs.addr()})
	t.Cleanup(func() { _ = ctl.Close() })
	waitPubsubReady(t, ctl, sharded, 2, 5*time.Second)

	var channels []string
	if sharded {
		channels = []string{prefix + "#/#", prefix + "#/#room#"}
		for _, n := range nodes {
			channels = append(channels, prefix+"#/#"+clusterAdapter(t, n.srv).UID()+"#")
		}
	} else {
		channels = []string{prefix + "#/#", prefix + "#/#room#", prefix + "-request#/#", prefix + "-response#/#"}
		for _, n := range nodes {
			channels = append(channels, prefix+"-response#/#"+clusterAdapter(t, n.srv).UID()+"#")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	msgs := garbage(t)
	for _, ch := range channels {
		for _, b := range msgs {
			var err error
			if sharded {
				err = ctl.SPublish(ctx, ch, b).Err()
			} else {
				err = ctl.Publish(ctx, ch, b).Err()
			}
			if err != nil {
				t.Fatalf("publish on %s: %v", ch, err)
			}
		}
	}
	// Each node reads its channels in order on one connection: once a
	// broadcast published after the garbage arrives, the garbage was read.
	for i, n := range nodes {
		if err := n.srv.To("room").Emit("n", 2*i+1); err != nil {
			t.Fatal(err)
		}
		if err := n.srv.Emit("n", 2*i+2); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "the broadcasts after the garbage", notify, func() bool {
		return counters[0].hasAll(1, 4) && counters[1].hasAll(1, 4)
	})
	for i, n := range nodes {
		socks, err := n.srv.FetchSockets(ctx)
		if err != nil || !slices.Equal(socketIDs(socks), sorted(ids...)) {
			t.Errorf("node %d after the garbage: FetchSockets %v, %v", i, socketIDs(socks), err)
		}
		answers, err := n.srv.ServerSideEmitWithAck(ctx, "hello")
		if err != nil || len(answers) != 1 {
			t.Errorf("node %d after the garbage: ServerSideEmitWithAck %d answers, %v", i, len(answers), err)
		}
	}
	for i := range nodes {
		if n := logs.count(fmt.Sprintf("malformed message dropped\" node=%d", i)); n == 0 {
			t.Errorf("node %d logged no malformed message", i)
		}
	}
	t.Logf("%d garbage messages on each of %d channels: %d logged as malformed", len(msgs), len(channels), logs.count("malformed message dropped"))
}
