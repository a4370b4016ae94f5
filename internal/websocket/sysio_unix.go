//go:build unix

package websocket

import "syscall"

// rawSocketIO tells whether a connection's descriptor can be read and
// written without waiting (Poll, TryWrite): Go's sockets are in
// non-blocking mode on Unix.
const rawSocketIO = true

func sysRead(fd uintptr, p []byte) (int, error)  { return syscall.Read(int(fd), p) }
func sysWrite(fd uintptr, p []byte) (int, error) { return syscall.Write(int(fd), p) }
