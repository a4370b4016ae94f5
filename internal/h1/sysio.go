//go:build unix && !(linux && !race && !msan && !asan)

package h1

import "syscall"

// sysRead and sysWrite are one read(2) and one write(2) on a non-blocking
// socket (see sysio_raw.go for Linux).

func sysRead(fd uintptr, p []byte) (int, error) { return syscall.Read(int(fd), p) }

func sysWrite(fd uintptr, p []byte) (int, error) { return syscall.Write(int(fd), p) }
