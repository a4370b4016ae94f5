package socketio_test

import (
	"fmt"
	"sync/atomic"

	"github.com/socketio-go/socketio"
)

// connCounter counts the connections opened: an Observer that handles one
// event and gets the others from NopObserver.
type connCounter struct {
	socketio.NopObserver
	opened atomic.Int64
}

func (c *connCounter) ConnOpened(connID, transport string) { c.opened.Add(1) }

func ExampleServer_Observe() {
	srv := socketio.NewServer(nil)
	defer srv.Close()
	counter := &connCounter{}
	srv.Observe(counter)
	fmt.Println(counter.opened.Load())
	// Output: 0
}

func ExampleServer_Stats() {
	srv := socketio.NewServer(nil)
	defer srv.Close()
	srv.Of("/chat")
	st := srv.Stats()
	fmt.Println(st.Connections, st.Sockets)
	for _, n := range st.Namespaces {
		fmt.Println(n.Name, n.Sockets)
	}
	// Output:
	// 0 0
	// / 0
	// /chat 0
}
