package parser

import (
	"sync"
	"sync/atomic"
)

// The intern cache maps the bytes of short, frequently seen strings (event
// names and namespaces) to a shared string so that decoding them does not
// allocate. It is copy-on-write: readers look up an immutable map without
// locking, and a writer replaces the whole map. Its size is capped, so
// hostile input can fill it once but never grow it; strings not in the full
// cache are simply allocated.
const (
	internMaxLen     = 64
	internMaxEntries = 512
)

var (
	internTable atomic.Pointer[map[string]string]
	internMu    sync.Mutex
)

// intern returns string(b), shared with earlier calls for the same bytes
// when possible.
func intern(b []byte) string {
	if m := internTable.Load(); m != nil {
		if s, ok := (*m)[string(b)]; ok {
			return s
		}
	}
	s := string(b)
	if len(b) <= internMaxLen {
		internAdd(s)
	}
	return s
}

func internAdd(s string) {
	internMu.Lock()
	defer internMu.Unlock()
	old := internTable.Load()
	var m map[string]string
	if old != nil {
		if len(*old) >= internMaxEntries {
			return
		}
		if _, ok := (*old)[s]; ok {
			return
		}
		m = make(map[string]string, len(*old)+1)
		for k, v := range *old {
			m[k] = v
		}
	} else {
		m = make(map[string]string, 16)
	}
	m[s] = s
	internTable.Store(&m)
}
