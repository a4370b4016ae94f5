package socketio

import (
	"reflect"
	"slices"
	"testing"
)

// TestServerHasNamespaceMethods: every method of Namespace is also a method
// of Server, acting on the main namespace, as io.emit is io.of("/").emit in
// Node (the docs use srv.X where Node code uses io.X).
func TestServerHasNamespaceMethods(t *testing.T) {
	notOnServer := map[string]bool{
		"Name":   true, // always "/"
		"Server": true, // the Server itself
	}
	srv := reflect.TypeFor[*Server]()
	nsp := reflect.TypeFor[*Namespace]()
	for i := range nsp.NumMethod() {
		m := nsp.Method(i)
		if notOnServer[m.Name] {
			continue
		}
		sm, ok := srv.MethodByName(m.Name)
		if !ok {
			t.Errorf("Server has no %s (Namespace.%s: %s)", m.Name, m.Name, m.Type)
			continue
		}
		// Compare without the receivers.
		if a, b := sm.Type.String()[len("func(*socketio.Server"):], m.Type.String()[len("func(*socketio.Namespace"):]; a != b {
			t.Errorf("Server.%s%s differs from Namespace.%s%s", m.Name, a, m.Name, b)
		}
	}
}

// TestSocketVolatileTo: s.Volatile().To(r) is socket.volatile.to(r): a
// volatile broadcast to the room that excludes the sender.
func TestSocketVolatileTo(t *testing.T) {
	env := newRoomsEnv(t, nil)
	_, s := env.join("/", "")
	for name, b := range map[string]*BroadcastOperator{
		"To":        s.Volatile().To("r"),
		"Except":    s.Volatile().Except("x"),
		"Broadcast": s.Volatile().Broadcast(),
	} {
		if !b.flags.Volatile || !slices.Contains(b.except, s.ID()) {
			t.Errorf("%s: volatile %v, except %q", name, b.flags.Volatile, b.except)
		}
	}
	if b := s.Compress(false).To("r"); b.flags.Volatile || !slices.Contains(b.except, s.ID()) {
		t.Errorf("Compress(false).To: volatile %v, except %q", b.flags.Volatile, b.except)
	}
}
