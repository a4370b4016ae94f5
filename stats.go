package socketio

import (
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of a Server's state, from Server.Stats.
type Stats struct {
	// Started is when the server was created.
	Started time.Time
	// Connections is the number of open client connections (Engine.IO
	// sessions).
	Connections int
	// PollingConnections is the number of those on long-polling; the
	// others are on WebSocket.
	PollingConnections int
	// Sockets is the number of sockets connected to this server, all
	// namespaces together (a connection has one socket per namespace it
	// joined).
	Sockets int
	// Namespaces lists the namespaces, sorted by name.
	Namespaces []NamespaceStats
}

// NamespaceStats describes one namespace in a Stats.
type NamespaceStats struct {
	// Name is the namespace name, such as "/".
	Name string
	// Sockets is the number of sockets connected to it on this server.
	Sockets int
}

// serverStats are the counters behind Stats, kept whether or not anybody
// observes: one atomic add per connection opened or closed.
type serverStats struct {
	started time.Time
	conns   atomic.Int64
	polling atomic.Int64
}

// Stats returns a snapshot of the server's connections and sockets (on
// this server only, not on the other servers of a cluster). It is cheap
// enough to call every few seconds.
func (s *Server) Stats() Stats {
	st := Stats{
		Started:            s.stats.started,
		Connections:        int(s.stats.conns.Load()),
		PollingConnections: int(s.stats.polling.Load()),
	}
	s.mu.RLock()
	nsps := make([]*Namespace, 0, len(s.nsps))
	for _, n := range s.nsps {
		nsps = append(nsps, n)
	}
	s.mu.RUnlock()
	for _, n := range nsps {
		n.mu.RLock()
		c := len(n.sockets)
		n.mu.RUnlock()
		st.Sockets += c
		st.Namespaces = append(st.Namespaces, NamespaceStats{Name: n.name, Sockets: c})
	}
	slices.SortFunc(st.Namespaces, func(a, b NamespaceStats) int { return strings.Compare(a.Name, b.Name) })
	return st
}

// connOpened counts a new connection and tells the observer.
func (s *Server) connOpened(id, transport string) {
	s.stats.conns.Add(1)
	if transport == "polling" {
		s.stats.polling.Add(1)
	}
	if o := s.observer(); o != nil {
		o.ConnOpened(id, transport)
	}
}

// connClosed counts a closed connection, whose transport was transport
// when it closed, and tells the observer.
func (s *Server) connClosed(id, transport string, reason DisconnectReason) {
	s.stats.conns.Add(-1)
	if transport == "polling" {
		// Not upgraded: OnUpgrade did not count it out.
		s.stats.polling.Add(-1)
	}
	if o := s.observer(); o != nil {
		o.ConnClosed(id, reason)
	}
}
