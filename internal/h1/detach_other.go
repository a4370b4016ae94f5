//go:build !unix

package h1

// write writes nothing: the whole response goes on another goroutine.
func (t *tryWriter) write(uintptr) bool { return true }

func isWouldBlock(error) bool { return false }
