package msgpack_test

import (
	"fmt"
	"math"

	"github.com/socketio-go/socketio/msgpack"
)

// A broadcast of @socket.io/redis-adapter: [uid, packet, opts], built with
// the writers and FromJSON, then read back as a receiving node does.
func Example() {
	data := []byte(`["bcast",{"tag":"span","file":{"_placeholder":true,"num":0}}]`)
	attachments := [][]byte{{0xca, 0xfe}}

	msg := msgpack.AppendArrayHeader(nil, 3)
	msg = msgpack.AppendString(msg, "mkGbCM")
	msg = msgpack.AppendMapHeader(msg, 3)
	msg = msgpack.AppendString(msg, "type")
	msg = msgpack.AppendInt(msg, 2)
	msg = msgpack.AppendString(msg, "data")
	msg, err := msgpack.FromJSON(msg, data, attachments)
	if err != nil {
		panic(err)
	}
	msg = msgpack.AppendString(msg, "nsp")
	msg = msgpack.AppendString(msg, "/")
	msg = msgpack.AppendMapHeader(msg, 3)
	msg = msgpack.AppendString(msg, "rooms")
	msg = msgpack.AppendArrayHeader(msg, 1)
	msg = msgpack.AppendString(msg, "span")
	msg = msgpack.AppendString(msg, "except")
	msg = msgpack.AppendArrayHeader(msg, 0)
	msg = msgpack.AppendString(msg, "flags")
	msg = msgpack.AppendMapHeader(msg, 0)
	fmt.Printf("%x\n", msg)

	// The receiver: the envelope with ArrayItems and MapEntries, the
	// packet's data with ToJSON.
	i := 0
	_, err = msgpack.ArrayItems(msg, func(item []byte) error {
		defer func() { i++ }()
		switch i {
		case 0:
			uid, _, err := msgpack.Decode(item)
			fmt.Println("uid:", uid, err)
		case 1:
			_, err := msgpack.MapEntries(item, func(key string, value []byte) error {
				if key != "data" {
					return nil
				}
				var atts [][]byte
				js, _, err := msgpack.ToJSON(nil, value, &atts)
				fmt.Printf("data: %s %x %v\n", js, atts, err)
				return err
			})
			return err
		case 2:
			opts, _, err := msgpack.Decode(item)
			fmt.Println("opts:", opts, err)
		}
		return nil
	})
	fmt.Println(err)
	// Output:
	// 93a66d6b4762434d83a47479706502a46461746192a5626361737482a3746167a47370616ea466696c65c402cafea36e7370a12f83a5726f6f6d7391a47370616ea665786365707490a5666c61677380
	// uid: mkGbCM <nil>
	// data: ["bcast",{"tag":"span","file":{"_placeholder":true,"num":0}}] [cafe] <nil>
	// opts: map[except:[] flags:map[] rooms:[span]] <nil>
	// <nil>
}

// Numbers are written as notepack.io writes JavaScript numbers.
func ExampleAppendFloat() {
	for _, f := range []float64{3, math.Copysign(0, -1), 1.5, 1 << 32, -1 << 31} {
		fmt.Printf("%v: %x\n", f, msgpack.AppendFloat(nil, f))
	}
	// Output:
	// 3: 03
	// -0: 00
	// 1.5: cb3ff8000000000000
	// 4.294967296e+09: cf0000000100000000
	// -2.147483648e+09: d280000000
}

// ToJSON writes what the official server sends its clients.
func ExampleToJSON() {
	// {"b": 1, "1": 2.5, "d": Date(1000), "u": undefined}
	msg := []byte("\x84\xa1b\x01\xa11\xcb\x40\x04\x00\x00\x00\x00\x00\x00\xa1d\xd6\xff\x00\x00\x00\x01\xa1u\xd4\x00\x00")
	js, rest, err := msgpack.ToJSON(nil, msg, nil)
	fmt.Printf("%s %q %v\n", js, rest, err)
	// Output:
	// {"1":2.5,"b":1,"d":"1970-01-01T00:00:01.000Z"} "" <nil>
}
