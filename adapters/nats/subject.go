package nats

import (
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Token returns the subject token that stands for name (a namespace or a
// private session id) in the adapter's subjects, stream filters and session
// keys: ASCII letters, digits and '-' are kept, every other byte is written
// as '_' and two upper-case hex digits. "/" is "_2F", "/chat" is "_2Fchat",
// "/a.b c" is "_2Fa_2Eb_20c". The mapping is one to one, and its result is
// valid in a NATS subject token, a JetStream stream name and a KV key: no
// '.', '*', '>', whitespace or control byte can reach the broker.
func Token(name string) string {
	var b strings.Builder
	b.Grow(len(name) + 4)
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(name); i++ {
		c := name[i]
		if tokenByte(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('_')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func tokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

// validUID reports whether uid, read from the broker, can name a server in
// a subject: 1 to 64 bytes of [A-Za-z0-9_-]. A message from any other uid
// is dropped: publishing an answer to it could reach every server
// ("*", ">") or none.
func validUID(uid string) bool {
	if uid == "" || len(uid) > 64 {
		return false
	}
	for i := 0; i < len(uid); i++ {
		if c := uid[i]; !tokenByte(c) && c != '_' {
			return false
		}
	}
	return true
}

// subjects are the subjects of one namespace.
type subjects struct {
	all  string // <prefix>.<nsp>.all: broadcasts and requests, every server
	node string // <prefix>.<nsp>.node.: + uid, one server's answers and control requests
	log  string // <prefix>.<nsp>.log: the stream's entries (JetStream adapter)
}

func newSubjects(prefix, nsp string) subjects {
	base := prefix + "." + Token(nsp) + "."
	return subjects{all: base + "all", node: base + "node.", log: base + "log"}
}

// dropLog logs the messages dropped because they were malformed: for each
// kind of message, the first one, then at most one line every 10s with the
// number dropped meanwhile, so that a flood of garbage cannot flood the
// log.
type dropLog struct {
	logger *slog.Logger
	mu     sync.Mutex
	kinds  map[string]*dropCount
}

type dropCount struct {
	last    time.Time
	dropped int
}

func (d *dropLog) drop(what, subject string, err error) {
	d.mu.Lock()
	if d.kinds == nil {
		d.kinds = make(map[string]*dropCount)
	}
	c := d.kinds[what]
	if c == nil {
		c = &dropCount{}
		d.kinds[what] = c
	}
	c.dropped++
	now := time.Now()
	if !c.last.IsZero() && now.Sub(c.last) < 10*time.Second {
		d.mu.Unlock()
		return
	}
	n := c.dropped
	c.dropped, c.last = 0, now
	d.mu.Unlock()
	d.logger.Warn("nats: malformed "+what+" dropped", "subject", subject, "err", err, "dropped", n)
}
