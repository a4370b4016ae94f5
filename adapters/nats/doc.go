// Package nats implements Socket.IO cluster adapters on NATS
// (github.com/nats-io/nats.go): [NewAdapter] on core NATS, and
// [NewJetStreamAdapter] on JetStream, with connection state recovery
// across the servers of the cluster.
//
// There is no official NATS adapter for socket.io, so Node servers cannot
// join these clusters; Go servers with the same Prefix (and Stream) on the
// same NATS system form one cluster. The messages between servers are
// those of the official ClusterAdapter (package cluster), in MessagePack.
//
// # Subjects
//
// Every subject starts with Options.Prefix ("socket.io"), followed by the
// namespace as one token ([Token]: "/" is "_2F", "/chat" is "_2Fchat";
// bytes outside [A-Za-z0-9-] are escaped, so '.', '*', '>' and spaces in a
// namespace name cannot change the subject's structure):
//
//	<prefix>.<nsp>.all         broadcasts, room changes, requests, heartbeats (core)
//	<prefix>.<nsp>.node.<uid>  answers to one server's requests; probes and session takeovers
//	<prefix>.<nsp>.log         the JetStream stream's entries (NewJetStreamAdapter)
//
// The stream (JetStreamOptions.Stream) captures "<prefix>.*.log"; the
// sessions bucket is JetStreamOptions.SessionBucket. A NATS account used
// by the servers needs publish and subscribe rights on "<prefix>.>", on
// "_INBOX.>" (requests) and on the JetStream API ("$JS.API.>", and
// "$KV.<bucket>.>" for the sessions).
//
// # Membership
//
// Servers announce themselves with heartbeats; a request waits for the
// servers known when it starts. A server whose NATS connection closed (its
// process was killed, its host lost) is forgotten within
// Options.ProbeInterval: NATS answers "no responders" at once to a request
// on a subject nobody subscribes to. A server that is alive but silent is
// forgotten after Options.Heartbeat.Timeout; meanwhile requests end after
// Options.RequestsTimeout with an error wrapping cluster.ErrTimeout and the
// answers received.
//
// # Untrusted input
//
// Whatever arrives from NATS (messages, stream entries, stored sessions)
// is decoded defensively: malformed input is dropped and logged, at most
// one line per kind of message every 10 seconds, with the count.
package nats
