//go:build unix

package h1

import (
	"errors"
	"syscall"
	"testing"
)

// TestSysIO checks the single non-blocking read and write the armed reads
// and detached answers make (sysio_raw.go on Linux outside race builds,
// syscall.Read and syscall.Write otherwise): bytes both ways, "would
// block" on an empty socket and on a full one, and the error of a write
// to a closed peer.
func TestSysIO(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := uintptr(fds[0]), uintptr(fds[1])
	defer syscall.Close(fds[0])
	for _, fd := range fds {
		if err := syscall.SetNonblock(fd, true); err != nil {
			t.Fatal(err)
		}
	}

	buf := make([]byte, 16)
	if n, err := sysRead(b, buf); !isWouldBlock(err) {
		t.Fatalf("read of an empty socket: %d, %v; want EAGAIN", n, err)
	}
	if n, err := sysWrite(a, []byte("hello")); n != 5 || err != nil {
		t.Fatalf("write: %d, %v", n, err)
	}
	if n, err := sysWrite(a, nil); n != 0 || err != nil {
		t.Fatalf("empty write: %d, %v", n, err)
	}
	if n, err := sysRead(b, buf); n != 5 || err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("read: %d, %v, %q", n, err, buf[:max(n, 0)])
	}

	// A full socket takes part of a write, then nothing: "would block".
	big := make([]byte, 1<<20)
	total := 0
	for {
		n, err := sysWrite(a, big)
		if isWouldBlock(err) {
			break
		}
		if err != nil || n <= 0 {
			t.Fatalf("write to a filling socket: %d, %v", n, err)
		}
		total += n
	}
	if total == 0 || total >= 64<<20 {
		t.Fatalf("a non-blocking socket took %d bytes before it was full", total)
	}

	if err := syscall.Close(fds[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := sysWrite(a, []byte("x")); !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("write to a closed peer: %v; want EPIPE", err)
	}
}

// TestSysIOEOF checks that a read at the end of the stream is 0 bytes and
// no error (readFD makes it io.EOF on Linux).
func TestSysIOEOF(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fds[1])
	if err := syscall.SetNonblock(fds[1], true); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Close(fds[0]); err != nil {
		t.Fatal(err)
	}
	if n, err := sysRead(uintptr(fds[1]), make([]byte, 4)); n != 0 || err != nil {
		t.Fatalf("read at the end of the stream: %d, %v", n, err)
	}
}
