package socketio

import (
	"reflect"
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
