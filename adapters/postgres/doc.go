// Package postgres is a Socket.IO cluster adapter on PostgreSQL
// LISTEN/NOTIFY, wire-compatible with the official npm package
// @socket.io/postgres-adapter (0.4 and 0.5): Go servers and Node servers
// on one PostgreSQL database, with the same channel prefix and attachment
// table, form one cluster.
//
// Each namespace has one channel, "<prefix>#<namespace>". Every message
// between the servers (socket.io-adapter's ClusterAdapter protocol) is a
// NOTIFY on it: its JSON text, or, when it holds binary values or its
// JSON is longer than the payload threshold (NOTIFY carries at most 8000
// bytes), its MessagePack form stored in the attachment table and a
// NOTIFY of {"uid","type","attachmentId"} pointing to the row. Servers
// know each other by their heartbeats.
//
// The attachment table is created by the application (or by
// [CreateAttachmentTable]):
//
//	CREATE TABLE IF NOT EXISTS socket_io_attachments (
//	    id          bigserial UNIQUE,
//	    created_at  timestamptz DEFAULT NOW(),
//	    payload     bytea
//	);
//
// [NewAdapter] builds the adapters of a server; [Emitter] sends to the
// clients of a cluster from a process that is not a Socket.IO server.
package postgres
