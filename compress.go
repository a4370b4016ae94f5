package socketio

import (
	"github.com/socketio-go/socketio/engineio/packet"
	"github.com/socketio-go/socketio/parser"
)

// writePacketFlags is writePacket for an emit whose packets may be marked
// uncompressed (Compress(false)).
func (c *conn) writePacketFlags(p *parser.Packet, volatile, uncompressed bool) error {
	pkts, err := c.srv.encode(p)
	if err != nil {
		return err
	}
	noCompress(pkts, uncompressed)
	err = c.send(pkts, volatile)
	if err == nil {
		c.srv.packetsSent(p.Type, pkts, 1)
	}
	return err
}

// noCompress marks pkts as not to be compressed by the transport when set.
func noCompress(pkts []packet.Packet, set bool) {
	if !set {
		return
	}
	for i := range pkts {
		pkts[i].NoCompress = true
	}
}
