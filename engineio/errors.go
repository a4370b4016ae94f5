package engineio

import (
	"errors"
	"net/http"
	"strconv"
)

// Sentinel errors. Callers branch on them with errors.Is.
var (
	// ErrSessionClosed is returned when writing to a closed session.
	ErrSessionClosed = errors.New("engineio: session closed")
	// ErrSlowConsumer is the cause given when a session is closed because
	// its write queue is full.
	ErrSlowConsumer = errors.New("engineio: write queue full (slow consumer)")
	// ErrServerClosed is returned by Shutdown and Close on a server that
	// was already shut down.
	ErrServerClosed = errors.New("engineio: server closed")
	// ErrPingTimeout is the cause given when a session is closed because
	// no pong arrived in time.
	ErrPingTimeout = errors.New("engineio: ping timeout")
	// ErrInvalidHeartbeat is the cause given when a client sends a ping
	// (in protocol v4 only the server pings).
	ErrInvalidHeartbeat = errors.New("engineio: invalid heartbeat direction")
	// ErrPollOverlap is the cause given when a client sends a second
	// long-polling GET (or POST) while one is pending.
	ErrPollOverlap = errors.New("engineio: overlapping long-polling requests")
	// ErrPayloadTooLarge is the cause given when a client sends a message
	// or a request body larger than MaxHTTPBufferSize.
	ErrPayloadTooLarge = errors.New("engineio: payload too large")
)

// CloseReason says why a session closed. The values are the strings the
// official engine.io server uses.
type CloseReason string

// The reasons a session closes.
const (
	// ReasonTransportError: the transport failed (a network error, an
	// overlapping poll, an oversized payload, a full write queue...).
	ReasonTransportError CloseReason = "transport error"
	// ReasonTransportClose: the client closed the connection.
	ReasonTransportClose CloseReason = "transport close"
	// ReasonForcedClose: the server closed the session.
	ReasonForcedClose CloseReason = "forced close"
	// ReasonPingTimeout: the client did not answer a ping in time.
	ReasonPingTimeout CloseReason = "ping timeout"
	// ReasonParseError: the client sent something that is not an
	// Engine.IO packet.
	ReasonParseError CloseReason = "parse error"
)

// closeReasons lists the reasons by the small code a session keeps.
var closeReasons = [...]CloseReason{"", ReasonTransportError, ReasonTransportClose, ReasonForcedClose, ReasonPingTimeout, ReasonParseError}

// closeCode returns the code of r in closeReasons.
func closeCode(r CloseReason) uint8 {
	for i, c := range closeReasons {
		if c == r {
			return uint8(i)
		}
	}
	return uint8(1) // every reason is in the table: the sessions set only those
}

// Error codes of the official server, sent in the JSON body of an HTTP 400
// (or 403) answer to a bad request.
const (
	CodeUnknownTransport   = 0
	CodeUnknownSID         = 1
	CodeBadHandshakeMethod = 2
	CodeBadRequest         = 3
	CodeForbidden          = 4
	CodeUnsupportedVersion = 5
)

var codeMessages = [...]string{
	CodeUnknownTransport:   "Transport unknown",
	CodeUnknownSID:         "Session ID unknown",
	CodeBadHandshakeMethod: "Bad handshake method",
	CodeBadRequest:         "Bad request",
	CodeForbidden:          "Forbidden",
	CodeUnsupportedVersion: "Unsupported protocol version",
}

// RequestError describes a request the server refused. It is passed to
// Hooks.OnConnectionError.
type RequestError struct {
	Code    int    // one of the Code* constants
	Message string // the message sent to the client
	Context string // what exactly was wrong, for logs
}

// Error describes the refused request.
func (e *RequestError) Error() string {
	s := "engineio: " + e.Message + " (code " + strconv.Itoa(e.Code) + ")"
	if e.Context != "" {
		s += ": " + e.Context
	}
	return s
}

func newRequestError(code int, context string) *RequestError {
	return &RequestError{Code: code, Message: codeMessages[code], Context: context}
}

// writeRequestError answers a refused polling request the way the official
// server does: 400 (403 for CodeForbidden) with a JSON body.
func writeRequestError(w http.ResponseWriter, e *RequestError) {
	status := http.StatusBadRequest
	if e.Code == CodeForbidden {
		status = http.StatusForbidden
	}
	body := []byte(`{"code":` + strconv.Itoa(e.Code) + `,"message":`)
	body = appendJSONString(body, e.Message)
	body = append(body, '}')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeUpgradeError answers a refused WebSocket upgrade the way the official
// server does: a plain 400 (403 for CodeForbidden) whose body is the message.
func writeUpgradeError(w http.ResponseWriter, e *RequestError) {
	status := http.StatusBadRequest
	if e.Code == CodeForbidden {
		status = http.StatusForbidden
	}
	h := w.Header()
	h.Set("Connection", "close")
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", strconv.Itoa(len(e.Message)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(e.Message))
}

// appendJSONString appends s as a JSON string. It only needs to handle the
// short ASCII messages and ids this package writes, but it is correct for
// any input.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
