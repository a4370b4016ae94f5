//go:build !linux

package h1

import "errors"

// armedReads says whether the loop arms its reads: only on Linux (see
// armed_linux.go).
const armedReads = false

func readFD(uintptr, []byte) (int, error) { return 0, errors.ErrUnsupported }
