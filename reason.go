package socketio

// DisconnectReason says why a socket was disconnected. The values are
// exactly the strings of the official socket.io 4.x server, so code and
// dashboards written for it keep working.
type DisconnectReason string

// The reasons a server-side socket is disconnected.
const (
	// ReasonTransportError: the connection failed (network error, an
	// oversized payload, overlapping polls, a full write queue...).
	ReasonTransportError DisconnectReason = "transport error"
	// ReasonTransportClose: the client closed the connection, or it was
	// lost.
	ReasonTransportClose DisconnectReason = "transport close"
	// ReasonForcedClose: the server closed the connection after an invalid
	// Socket.IO packet.
	ReasonForcedClose DisconnectReason = "forced close"
	// ReasonPingTimeout: the client did not answer a ping in time.
	ReasonPingTimeout DisconnectReason = "ping timeout"
	// ReasonParseError: the client sent something that is not an
	// Engine.IO packet.
	ReasonParseError DisconnectReason = "parse error"
	// ReasonServerShuttingDown: the server is shutting down.
	ReasonServerShuttingDown DisconnectReason = "server shutting down"
	// ReasonForcedServerClose: the server closed the whole connection
	// (Socket.Disconnect(true), a packet for a namespace the client had not
	// joined, or the connect timeout).
	ReasonForcedServerClose DisconnectReason = "forced server close"
	// ReasonClientNamespaceDisconnect: the client left the namespace.
	ReasonClientNamespaceDisconnect DisconnectReason = "client namespace disconnect"
	// ReasonServerNamespaceDisconnect: the server called
	// Socket.Disconnect(false).
	ReasonServerNamespaceDisconnect DisconnectReason = "server namespace disconnect"
)
