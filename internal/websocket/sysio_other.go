//go:build !unix

package websocket

import "errors"

// rawSocketIO is false where a socket's handle cannot be read or written
// without waiting through syscall (Windows' sockets are overlapped):
// Poll then always reports true and TryWrite writes nothing, as for a
// connection without a descriptor.
const rawSocketIO = false

func sysRead(uintptr, []byte) (int, error)  { return 0, errors.ErrUnsupported }
func sysWrite(uintptr, []byte) (int, error) { return 0, errors.ErrUnsupported }
