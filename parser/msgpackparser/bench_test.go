package msgpackparser

import (
	"testing"

	"github.com/socketio-go/socketio/parser"
)

// benchPackets are the packet of BenchmarkBroadcast in benchmarks/ and one
// with a 1 KiB binary argument.
var benchPackets = []struct {
	name string
	p    *parser.Packet
}{
	{"event", &parser.Packet{Type: parser.Event, Namespace: "/", ID: parser.NoID,
		Data: []byte(`["bcast",1,123456789,"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]`)}},
	{"binary", &parser.Packet{Type: parser.Event, Namespace: "/", ID: 3,
		Data:        []byte(`["file",{"name":"a.bin","size":1024,"data":{"_placeholder":true,"num":0}}]`),
		Attachments: [][]byte{make([]byte, 1024)}}},
}

var benchParsers = []struct {
	name string
	p    parser.Parser
}{
	{"json", parser.JSON{}},
	{"msgpack", Parser{}},
}

// BenchmarkEncode is the cost of encoding one packet, paid once per
// broadcast whatever the number of recipients.
func BenchmarkEncode(b *testing.B) {
	for _, bp := range benchPackets {
		for _, pr := range benchParsers {
			b.Run(bp.name+"/"+pr.name, func(b *testing.B) {
				b.ReportAllocs()
				var dst []parser.Message
				for b.Loop() {
					var err error
					if dst, err = pr.p.Encode(dst[:0], bp.p); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkDecode is the cost of decoding one received packet.
func BenchmarkDecode(b *testing.B) {
	for _, bp := range benchPackets {
		for _, pr := range benchParsers {
			msgs, err := pr.p.Encode(nil, bp.p)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(bp.name+"/"+pr.name, func(b *testing.B) {
				b.ReportAllocs()
				dec := pr.p.NewDecoder(parser.Limits{})
				for b.Loop() {
					var p *parser.Packet
					for _, m := range msgs {
						if p, err = dec.Decode(m.Data, m.Binary); err != nil {
							b.Fatal(err)
						}
					}
					if p == nil {
						b.Fatal("no packet")
					}
				}
			})
		}
	}
}
