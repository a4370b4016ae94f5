package client

import (
	"bytes"
	"testing"

	"github.com/socketio-go/socketio/engineio/packet"
)

// nullEngine is an Engine.IO connection that accepts and drops writes.
type nullEngine struct{ done chan struct{} }

func (e *nullEngine) Send(...packet.Packet) error { return nil }
func (e *nullEngine) Close()                      {}
func (e *nullEngine) Done() <-chan struct{}       { return e.done }
func (e *nullEngine) Transport() string           { return TransportWebSocket }
func (e *nullEngine) Writable() bool              { return true }

// FuzzClientInput feeds arbitrary server messages to the client's decode
// path (decoder, routing to namespaces, events, acks, connect replies and
// errors): nothing may panic, and the limits hold. The input is a list of
// messages separated by '\n'; a message starting with '!' is binary.
func FuzzClientInput(f *testing.F) {
	for _, seed := range []string{
		`0{"sid":"a"}` + "\n" + `2["e",1,{"a":[true,null]}]` + "\n" + `30["ack"]`,
		`0/admin,{"sid":"b","pid":"p"}` + "\n" + `2/admin,["e","off"]` + "\n" + `1/admin,`,
		`51-["e",{"_placeholder":true,"num":0}]` + "\n" + "!\x01\x02",
		`61-0[{"_placeholder":true,"num":0}]` + "\n!x",
		`4{"message":"no","data":[1]}`,
		`4/admin,"legacy"`,
		`2` + string(bytes.Repeat([]byte("["), 300)),
		`2["connect"]`,
		`0`,
		`25["q"]`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		m, err := NewManager("http://fuzz", &Options{EventQueueSize: 64})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		mc := newMconn(m)
		mc.setEngine(&nullEngine{done: make(chan struct{})})
		for _, nsp := range []string{"/", "/admin"} {
			s := m.Socket(nsp, nil)
			s.active = true
			s.connecting = mc
			s.OnAny(func(e *Event) {
				var v []any
				_ = e.Args().Decode(&v)
				if e.HasAck() {
					_ = e.Ack(e.Args().Spread()...)
				}
			})
			s.acks[0] = &pendingAck{withError: true, cb: func(Args, error) {}}
		}
		for _, msg := range bytes.Split([]byte(input), []byte("\n")) {
			select {
			case <-mc.closed:
				return
			default:
			}
			p := packet.Packet{Type: packet.Message, Data: msg}
			if len(msg) > 0 && msg[0] == '!' {
				p = packet.Packet{Type: packet.Message, Binary: true, Data: msg[1:]}
			}
			mc.onMessage(p)
		}
		mc.end(ReasonTransportClose, nil)
		for _, s := range m.sockets() {
			s.onClose(mc, ReasonTransportClose)
		}
	})
}
