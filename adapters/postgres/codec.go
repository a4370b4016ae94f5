package postgres

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/socketio-go/socketio/adapter/cluster"
)

// maxNotifyPayload is PostgreSQL's bound on a NOTIFY payload: it must be
// shorter than 8000 bytes.
const maxNotifyPayload = 8000

// maxChannelLen is the longest channel name PostgreSQL takes (NAMEDATALEN
// - 1): pg_notify fails on a longer one, and LISTEN truncates it.
const maxChannelLen = 63

// ErrMalformed is wrapped by the errors of messages from the broker that
// cannot be decoded: they are dropped.
var ErrMalformed = errors.New("postgres: malformed message")

// encoded is a message ready for the broker: either notify, the NOTIFY
// payload itself, or attachment, the MessagePack form to store in the
// attachment table (the NOTIFY then carries a header pointing to it).
type encoded struct {
	notify     []byte
	attachment []byte
}

// mustAttach reports whether the official adapter stores messages of type
// t that hold binary values in the attachment table.
func mustAttach(t cluster.MessageType) bool {
	switch t {
	case cluster.Broadcast, cluster.BroadcastAck, cluster.ServerSideEmit, cluster.ServerSideEmitResponse:
		return true
	}
	return false
}

// encode writes m as the official adapter does: its JSON text when it is
// short enough and holds no binary value, else MessagePack for the
// attachment table. threshold is the longest JSON text sent as is.
func encode(m *cluster.Message, threshold int) (encoded, error) {
	if !(mustAttach(m.Type) && m.HasBinary()) {
		b, err := cluster.AppendJSON(nil, m)
		switch {
		case err == nil && len(b) <= threshold && len(b) < maxNotifyPayload:
			return encoded{notify: b}, nil
		case err != nil && !errors.Is(err, cluster.ErrBinary):
			return encoded{}, err
		}
		// Too long, or binary values in a message the official adapter
		// would write as JSON (a fetchSockets answer whose socket data
		// hold binary values, turned into {"type":"Buffer"} objects by
		// JSON.stringify): MessagePack keeps them, and Node servers read
		// it from the table.
	}
	b, err := cluster.AppendMsgpack(nil, m)
	if err != nil {
		return encoded{}, err
	}
	return encoded{attachment: b}, nil
}

// appendHeader appends the NOTIFY payload that points to attachment id, as
// the official adapter writes it (node-postgres reads a bigserial as a
// string).
func appendHeader(dst []byte, uid string, t cluster.MessageType, id int64) []byte {
	dst = append(dst, `{"uid":`...)
	s, _ := json.Marshal(uid)
	dst = append(dst, s...)
	dst = fmt.Appendf(dst, `,"type":%d,"attachmentId":"%d"}`, int(t), id)
	return dst
}

// header is a NOTIFY payload that points to a row of the attachment table.
type header struct {
	UID          string          `json:"uid"`
	Type         *int            `json:"type"`
	AttachmentID json.RawMessage `json:"attachmentId"`
}

// notification is a decoded NOTIFY payload: a message, or the id of the
// attachment row that holds it (then uid is its sender).
type notification struct {
	msg          *cluster.Message
	uid          string
	attachmentID int64
}

// decodeNotification decodes a NOTIFY payload.
func decodeNotification(payload []byte) (notification, error) {
	if len(payload) == 0 || payload[0] != '{' {
		return notification{}, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	if bytes.Contains(payload, []byte(`"attachmentId"`)) {
		var h header
		if err := json.Unmarshal(payload, &h); err != nil {
			return notification{}, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		if id, ok := parseID(h.AttachmentID); ok {
			return notification{uid: h.UID, attachmentID: id}, nil
		}
		// A falsy attachmentId (0, "", null): the official adapter reads
		// the payload as the message itself.
		if !falsy(h.AttachmentID) {
			return notification{}, fmt.Errorf("%w: attachmentId %.40s is not a row id", ErrMalformed, h.AttachmentID)
		}
	}
	m, err := cluster.DecodeJSON(payload)
	if err != nil {
		return notification{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return notification{msg: m, uid: m.UID}, nil
}

// parseID reads an attachment id: a positive integer, as a JSON string
// (how the official adapter writes it) or number.
func parseID(raw json.RawMessage) (int64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, false
	}
	return id, true
}

func falsy(raw json.RawMessage) bool {
	switch string(raw) {
	case "", "null", "false", "0", `""`:
		return true
	}
	return false
}

// decodeAttachment decodes the payload column of an attachment row.
func decodeAttachment(b []byte) (*cluster.Message, error) {
	m, err := cluster.DecodeMsgpack(b)
	if err != nil {
		return nil, fmt.Errorf("%w: attachment: %w", ErrMalformed, err)
	}
	return m, nil
}
