// Package benchmarks holds the benchmark suite of the Socket.IO server:
// the load generator (cmd/socketio-bench), the raw batched-frame writer
// floor (cmd/rawfloor), the official Node server it is compared with
// (node/), and Go micro-benchmarks of broadcasts through the real server
// stack (broadcast_test.go). See README.md.
//
// It is a separate module so that comparative dependencies never reach
// the server's own go.mod.
package benchmarks
