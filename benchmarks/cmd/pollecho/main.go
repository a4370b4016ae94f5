// Command pollecho is a closed-loop long-polling echo load against a server
// binary it starts (pinned to CPU 0): c clients, each with a GET always
// pending and one "echo" event with an ack in flight at a time, n echoes
// each. It prints the server's CPU time per echo, read from /proc, which
// on a shared machine is steadier than throughput: run two builds
// alternately to compare them (docs/performance.md, long-polling).
//
//	go run ./cmd/pollecho -server ../bin/benchserver -c 50 -n 1000
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

func cpuTicks(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

type hc struct {
	c    net.Conn
	br   *bufio.Reader
	host string
}

func (h *hc) do(method, target, body string) string {
	var sb strings.Builder
	sb.WriteString(method + " " + target + " HTTP/1.1\r\nHost: " + h.host + "\r\nAccept: */*\r\n")
	if method == "POST" {
		sb.WriteString("Content-Type: text/plain;charset=UTF-8\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	sb.WriteString("\r\n" + body)
	if _, err := io.WriteString(h.c, sb.String()); err != nil {
		panic(err)
	}
	resp, err := http.ReadResponse(h.br, nil)
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func dial(addr string) *hc {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		panic(err)
	}
	return &hc{c: c, br: bufio.NewReader(c), host: addr}
}

func main() {
	bin := flag.String("server", "", "server binary (cmd/benchserver or any server of the suite's contract; PORT is set)")
	clients := flag.Int("c", 50, "clients")
	n := flag.Int("n", 1000, "echoes per client")
	port := flag.String("port", "3999", "server port")
	flag.Parse()
	cmd := exec.Command("taskset", "-c", "0", *bin)
	cmd.Env = append(os.Environ(), "PORT="+*port)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
		}
	}()
	addr := "127.0.0.1:" + *port
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	type pair struct {
		get, post *hc
		q         string
	}
	ps := make([]pair, *clients)
	for i := range ps {
		g, p := dial(addr), dial(addr)
		open := g.do("GET", "/socket.io/?EIO=4&transport=polling", "")
		j := strings.Index(open, `"sid":"`)
		sid := open[j+7 : j+7+strings.IndexByte(open[j+7:], '"')]
		q := "/socket.io/?EIO=4&transport=polling&sid=" + sid
		p.do("POST", q, "40")
		g.do("GET", q, "")
		ps[i] = pair{g, p, q}
	}
	t0 := cpuTicks(cmd.Process.Pid)
	start := time.Now()
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		acks := make(chan struct{}, 1)
		go func() { // the GET loop: always one poll pending, as a real client
			for {
				r := p.get.do("GET", p.q, "")
				if r == "stop" {
					return
				}
				for range strings.Count(r, "431") {
					acks <- struct{}{}
				}
			}
		}()
		go func() {
			defer wg.Done()
			for k := 0; k < *n; k++ {
				if r := p.post.do("POST", p.q, `421["echo","x"]`); r != "ok" {
					panic(r)
				}
				<-acks
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	t1 := cpuTicks(cmd.Process.Pid)
	total := *clients * *n
	fmt.Printf("%s: %d echoes in %v (%.0f/s), server CPU %.2fs = %.1f us/echo\n", *bin, total, el.Round(time.Millisecond), float64(total)/el.Seconds(), float64(t1-t0)/100, float64(t1-t0)*1e4/float64(total))
}
