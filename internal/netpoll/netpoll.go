// Package netpoll waits for network connections to become readable without
// a goroutine per connection.
//
// A server holding many idle connections would otherwise keep one goroutine
// blocked in a read per connection, and with it a stack of several KiB. With
// a Poller, the reading goroutine of an idle connection registers the
// connection and returns; when data arrives, the Poller calls back on a new
// goroutine, which reads until the connection is idle again.
//
// It uses epoll on Linux, next to the Go runtime's own poller (a socket may
// be watched by several epoll sets). Elsewhere New returns an error and
// callers keep a goroutine per connection.
package netpoll

import (
	"errors"
	"syscall"
)

// ErrUnsupported is returned by New where the platform has no poller.
var ErrUnsupported = errors.New("netpoll: not supported on this platform")

// ErrClosed is returned by Wait on a closed Poller.
var ErrClosed = errors.New("netpoll: poller closed")

// Conn is what a Poller watches: a connection that exposes its file
// descriptor (*net.TCPConn does).
type Conn interface {
	SyscallConn() (syscall.RawConn, error)
}
