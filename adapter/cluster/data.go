package cluster

import (
	"encoding/json"
	"fmt"

	"github.com/socketio-go/socketio/msgpack"
)

// The data object of a message on its own: transports that keep the
// envelope (type, uid, nsp) in fields of their own, such as the official
// Redis Streams adapter's stream entries, carry only this.

// AppendData appends the JSON form of m's data object, the "data" field of
// its JSON form. It returns ErrBinary if m holds binary values; messages of
// the types that carry no data append nothing.
func AppendData(dst []byte, m *Message) ([]byte, error) {
	if !hasData(m.Type) {
		return dst, nil
	}
	if m.HasBinary() {
		return dst, ErrBinary
	}
	return appendData(dst, m, nil)
}

// AppendDataMsgpack appends the MessagePack form of m's data object, binary
// values as bin, as notepack.io and @msgpack/msgpack write it.
func AppendDataMsgpack(dst []byte, m *Message) ([]byte, error) {
	if !hasData(m.Type) {
		return dst, nil
	}
	var atts [][]byte
	if m.Packet != nil {
		atts = append(atts, m.Packet.Attachments...)
	}
	text, err := appendData(nil, m, &atts)
	if err != nil {
		return dst, err
	}
	return msgpack.FromJSON(dst, text, atts)
}

// DecodeData builds the message of type typ from server uid in namespace
// nsp whose data object is data: JSON text, or MessagePack when isMsgpack.
// Like DecodeJSON, it checks that the data fit the type.
func DecodeData(typ MessageType, uid, nsp string, data []byte, isMsgpack bool) (*Message, error) {
	if typ < InitialHeartbeat || typ > maxMessageType {
		return nil, fmt.Errorf("%w: unknown type", ErrInvalidMessage)
	}
	m := &Message{Type: typ, UID: uid, NSP: nsp}
	if !hasData(typ) {
		return m, nil
	}
	var atts [][]byte
	if isMsgpack {
		text, rest, err := msgpack.ToJSON(nil, data, &atts)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
		}
		if len(rest) > 0 {
			return nil, fmt.Errorf("%w: trailing bytes", ErrInvalidMessage)
		}
		data = text
	}
	var d dataJSON
	if len(data) == 0 || json.Unmarshal(data, &d) != nil {
		return nil, fmt.Errorf("%w: type %d without a valid data object", ErrInvalidMessage, typ)
	}
	if err := fillMessage(m, &d, atts); err != nil {
		return nil, err
	}
	return m, nil
}
