package engineio

import (
	"runtime"
	"sync"
)

// batchWriter writes what SendBroadcast queued for WebSocket sessions
// whose writer was idle, from a few goroutines that serve many sessions
// each, instead of waking a writer goroutine per session: a broadcast to
// n idle connections then costs n non-blocking writes and one wake-up.
// A session whose socket cannot take its frames at once, or whose batch
// is large, gets its own writer goroutine for the rest (writeLoop).
//
// A session is in the ready list at most once: it is added with its
// writing flag set, which the batch writer then owns, and hands to the
// session's own writer when it starts one.
type batchWriter struct {
	srv *Server

	mu      sync.Mutex
	ready   []*Session // sessions to write, from head on
	head    int
	running int // goroutines running Run
	max     int // how many may run: GOMAXPROCS when the first started
}

// batchChunk is how many sessions one goroutine takes from the ready list
// at a time; with several cores, the rest of a large broadcast goes to
// other goroutines (up to GOMAXPROCS).
const batchChunk = 64

// add puts s, whose writing flag the caller set under s.mu (held), in the
// ready list, and starts a goroutine if none is running or the list
// outgrows the running ones.
func (b *batchWriter) add(s *Session) {
	b.mu.Lock()
	b.ready = append(b.ready, s)
	start := b.running == 0 || (len(b.ready)-b.head > b.running*batchChunk && b.running < b.max)
	if start {
		if b.running == 0 {
			b.max = runtime.GOMAXPROCS(0)
		}
		b.running++
	}
	b.mu.Unlock()
	if start {
		b.srv.tasks.GoRunner(b)
	}
}

// Run writes the ready sessions, a chunk at a time, until none is left.
func (b *batchWriter) Run() {
	var chunk [batchChunk]*Session
	for {
		// Let the goroutines already runnable go first, such as the one
		// that queues the next broadcast: each write then carries more
		// frames (see SendBroadcast).
		runtime.Gosched()
		b.mu.Lock()
		n := copy(chunk[:], b.ready[b.head:])
		if n == 0 {
			b.running--
			b.mu.Unlock()
			return
		}
		clear(b.ready[b.head : b.head+n])
		b.head += n
		switch {
		case b.head == len(b.ready):
			b.ready, b.head = b.ready[:0], 0
			if cap(b.ready) > 1<<16 {
				b.ready = nil // after a crowd has gone
			}
		case b.head > len(b.ready)/2:
			// Keep the array from growing while it never empties.
			k := copy(b.ready, b.ready[b.head:])
			clear(b.ready[k:])
			b.ready, b.head = b.ready[:k], 0
		}
		b.mu.Unlock()
		for i, s := range chunk[:n] {
			s.batchWrite()
			chunk[i] = nil
		}
	}
}

// batchWrite writes the session's queue with a non-blocking write, for the
// batch writer, which owns the writing flag. It hands the session to its
// own writer goroutine when that cannot be done, or when frames remain.
func (s *Session) batchWrite() {
	s.mu.Lock()
	ws := s.ws
	if ws == nil || s.state != stateOpen || len(s.queue) == 0 || !tryWritable(s.queue) {
		// The writer knows what to do with a closing session, one that
		// lost its WebSocket, or a large batch.
		s.srv.tasks.GoRunner((*wsWriter)(s))
		s.mu.Unlock()
		return
	}
	batch := s.takeQueueLocked()
	s.mu.Unlock()

	accepted, pending, err := tryWritePackets(ws, batch)

	n := len(batch)
	s.mu.Lock()
	if !accepted && err == nil {
		// Not taken (another write in progress, such as a pong): the
		// writer writes the batch, before what was queued meanwhile.
		s.queue = append(batch, s.queue...)
		s.srv.tasks.GoRunner((*wsWriter)(s))
		s.mu.Unlock()
		return
	}
	clear(batch)
	s.spare = batch[:0]
	if err != nil {
		s.writing = false
		s.mu.Unlock()
		// Not on this goroutine: closing runs the handler's close
		// callback, which would hold up the other sessions' writes.
		s.srv.tasks.Go(func() { s.closeIfTransport(ws, ReasonTransportError, err) })
		return
	}
	if !pending {
		s.written += uint64(n)
		s.releaseFlushersLocked()
	}
	// Otherwise part of the frames wait in the WebSocket: the writer
	// flushes them first, and only then counts the packets as written.
	switch {
	case pending || s.state != stateOpen || s.ws != ws:
		s.srv.tasks.GoRunner((*wsWriter)(s)) // s.writing stays set
	case len(s.queue) > 0:
		s.srv.bw.add(s) // queued meanwhile: the next round
	default:
		s.writing = false
		s.idleQueueLocked()
	}
	s.mu.Unlock()
}
