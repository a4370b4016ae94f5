package h1

import (
	"io"
	"syscall"
)

// armedReads says whether the loop arms its reads: on Linux, where the
// network poller is edge-triggered epoll and a wait armed after the reset
// of the descriptor's readiness sees every later arrival.
const armedReads = true

// readFD reads from the descriptor once; 0 bytes without an error is the
// end of the stream.
func readFD(fd uintptr, p []byte) (int, error) {
	for {
		n, err := sysRead(fd, p)
		if err == syscall.EINTR {
			continue
		}
		if n == 0 && err == nil && len(p) > 0 {
			return 0, io.EOF
		}
		return n, err
	}
}
