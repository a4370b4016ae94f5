//go:build linux && !race && !msan && !asan

package h1

import (
	"syscall"
	"unsafe"
)

// sysRead and sysWrite are one read(2) and one write(2) on a non-blocking
// socket, made without telling the scheduler (RawSyscall): they never
// block, and the scheduler's bookkeeping of a system call wakes the
// runtime's monitor thread after every idle spell of the process, which
// at moderate request rates cost more than the calls themselves (see
// docs/performance.md, Long-polling, round 6). The cost: sysmon, which
// preempts a goroutine running for over 10 ms, then wakes on the next
// timer or ordinary system call instead. The race detector (and msan,
// asan) see I/O through syscall.Read and syscall.Write, so those builds
// use them (sysio.go).

func sysRead(fd uintptr, p []byte) (int, error) { return rawIO(syscall.SYS_READ, fd, p) }

func sysWrite(fd uintptr, p []byte) (int, error) { return rawIO(syscall.SYS_WRITE, fd, p) }

// rawIO is read(2) or write(2) (trap) of p on fd.
func rawIO(trap, fd uintptr, p []byte) (int, error) {
	r, _, e := syscall.RawSyscall(trap, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}
