//go:build unix

package h1

import (
	"errors"
	"syscall"
)

func (t *tryWriter) write(fd uintptr) bool {
	t.n, t.err = sysWrite(fd, t.b)
	return true // never wait: what is left goes on another goroutine
}

func isWouldBlock(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR)
}
