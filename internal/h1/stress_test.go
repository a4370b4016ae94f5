package h1

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestStressMixedClients runs clients that mix what the fast path must
// survive on one keep-alive connection: handlers that wait while the
// connection is watched, pipelined requests, bodies that come late or
// never, responses that close the connection, panics, hijacks, read
// deadlines, and clients that go away mid-request. Every request whose
// client stays gets its answer, and the server serves normally after
// (run with -race: the background read shares the connection's buffer).
func TestStressMixedClients(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Has("deadline") {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		}
		if ms, err := strconv.Atoi(q.Get("wait")); err == nil {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(time.Duration(ms) * time.Millisecond):
			}
		}
		switch q.Get("do") {
		case "panic":
			panic(http.ErrAbortHandler)
		case "close":
			w.Header().Set("Connection", "close")
		case "hijack":
			nc, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return // the client sent more first: refused, as documented
			}
			go func() {
				defer nc.Close()
				_, _ = io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n")
				line, _ := brw.ReadString('\n')
				_, _ = io.WriteString(nc, "echo:"+line)
			}()
			return
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, "body error")
			return
		}
		fmt.Fprintf(w, "%s %d", q.Get("id"), len(b))
	}), nil)

	const clients, rounds = 16, 25
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(c)))
			stressClient(t, ts.addr, rng, rounds)
		}()
	}
	wg.Wait()

	rc := dial(t, ts.addr)
	rc.send("POST /fast/?id=last HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
	if _, body := rc.read("POST"); body != "last 2" {
		t.Fatalf("after the stress: %q", body)
	}
}

func stressClient(t *testing.T, addr string, rng *rand.Rand, rounds int) {
	var nc net.Conn
	var br *bufio.Reader
	redial := func() bool {
		if nc != nil {
			_ = nc.Close()
		}
		var err error
		nc, err = net.Dial("tcp", addr)
		if err != nil {
			t.Errorf("dial: %v", err)
			return false
		}
		_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
		br = bufio.NewReader(nc)
		return true
	}
	if !redial() {
		return
	}
	defer func() { _ = nc.Close() }()
	send := func(s string) bool {
		_, err := io.WriteString(nc, s)
		return err == nil
	}
	// expect reads one response; want "" accepts any 200, and closed
	// reports whether the server closed the connection after it.
	expect := func(method, want string) (closed, ok bool) {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Errorf("reading the response to %s %q: %v", method, want, err)
			return true, false
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Errorf("reading the body of %q: %v", want, err)
			return true, false
		}
		if want != "" && string(b) != want {
			t.Errorf("got %q, want %q", b, want)
			return true, false
		}
		return resp.Close, true
	}
	for i := range rounds {
		id := strconv.Itoa(i)
		switch rng.IntN(9) {
		case 0: // a plain POST
			if !send("POST /fast/?id=" + id + " HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc") {
				return
			}
			if closed, ok := expect("POST", id+" 3"); !ok || closed {
				if !ok || !redial() {
					return
				}
			}
		case 1: // a GET that waits while watched, then the next pipelined
			if !send("GET /fast/?wait=" + strconv.Itoa(rng.IntN(5)) + "&id=" + id + " HTTP/1.1\r\nHost: x\r\n\r\n") {
				return
			}
			if rng.IntN(2) == 0 {
				time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
				if !send("GET /fast/?id=" + id + "b HTTP/1.1\r\nHost: x\r\n\r\n") {
					return
				}
				if _, ok := expect("GET", id+" 0"); !ok {
					return
				}
				if _, ok := expect("GET", id+"b 0"); !ok {
					return
				}
			} else if _, ok := expect("GET", id+" 0"); !ok {
				return
			}
		case 2: // the client leaves while its request waits
			_ = send("GET /fast/?wait=50&id=" + id + " HTTP/1.1\r\nHost: x\r\n\r\n")
			time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
			if !redial() {
				return
			}
		case 3: // a response that closes the connection, while watched
			if !send("GET /fast/?wait=1&do=close&id=" + id + " HTTP/1.1\r\nHost: x\r\n\r\n") {
				return
			}
			if _, ok := expect("GET", id+" 0"); !ok {
				return
			}
			if _, err := br.ReadByte(); err == nil {
				t.Errorf("connection not closed after Connection: close")
				return
			}
			if !redial() {
				return
			}
		case 4: // a panic while watched
			_ = send("GET /fast/?wait=1&do=panic HTTP/1.1\r\nHost: x\r\n\r\n")
			if _, err := br.ReadByte(); err == nil {
				t.Errorf("connection not closed after a panic")
				return
			}
			if !redial() {
				return
			}
		case 5: // a hijack after a watched wait
			if !send("GET /fast/?wait=1&do=hijack HTTP/1.1\r\nHost: x\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n") {
				return
			}
			resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
			if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
				t.Errorf("hijack: %v %v", resp, err)
				return
			}
			_ = send("ping\n")
			if line, err := br.ReadString('\n'); err != nil || line != "echo:ping\n" {
				t.Errorf("hijacked: %q %v", line, err)
				return
			}
			if !redial() {
				return
			}
		case 6: // a body that comes late, within the handler's deadline
			if !send("POST /fast/?deadline&id=" + id + " HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab") {
				return
			}
			time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
			if !send("cd") {
				return
			}
			if _, ok := expect("POST", ""); !ok {
				return
			}
			// The answer may be the body's, or "body error" with a close
			// if the machine was slower than the 20 ms deadline.
			if !redial() {
				return
			}
		case 7: // a body that never comes: the handler's deadline ends it
			if !send("POST /fast/?deadline&id=" + id + " HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab") {
				return
			}
			if _, ok := expect("POST", "body error"); !ok {
				return
			}
			if !redial() {
				return
			}
		case 8: // a half-sent body, then the client leaves
			_ = send("POST /fast/?id=" + id + " HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
			if !redial() {
				return
			}
		}
	}
}
