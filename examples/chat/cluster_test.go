package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestClusterScript runs examples/cluster/run.sh (three chat servers on
// Redis behind HAProxy round robin, no sticky sessions) and chats through
// the load balancer over long-polling, whose requests reach every server.
func TestClusterScript(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a cluster")
	}
	for _, tool := range []string{"haproxy", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s not found (CI is set: a missing dependency fails the run)", tool)
			}
			t.Skipf("%s not found: apt-get install %s", tool, tool)
		}
	}
	var key [4]byte
	_, _ = rand.Read(key[:])
	cmd := exec.Command("bash", "../cluster/run.sh")
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("PORT=%d", freePort(t)),
		fmt.Sprintf("NODE_PORT=%d", freePort(t)),
		"REDIS_KEY=test-"+hex.EncodeToString(key[:]))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // run.sh stops what it started
		_ = cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if _, url, ok := strings.Cut(sc.Text(), "open "); ok {
				found <- url
			}
		}
		close(found)
	}()
	var url string
	select {
	case url = <-found:
	case <-time.After(3 * time.Minute): // go build, npm ci
	}
	if url == "" {
		t.Fatal("run.sh did not print the URL of the chat")
	}

	alice := dial(t, url)
	alice.connect("alice")
	// Each server keeps its own history (docs: examples/chat/README.md);
	// nothing was said yet.
	alice.expectEvent("history", `{"room":"lobby","messages":[]}`)
	alice.expectEvent("users", `{"room":"lobby","users":["alice"]}`)
	bob := dial(t, url)
	bob.connect("bob")
	bob.expectEvent("history", `{"room":"lobby","messages":[]}`)
	bob.expectEvent("users", `{"room":"lobby","users":["alice","bob"]}`)
	alice.expectEvent("user joined", `{"nick":"bob","room":"lobby"}`)
	alice.expectEvent("users", `{"room":"lobby","users":["alice","bob"]}`)
	bob.send(`2["chat message",{"text":"hi"}]`)
	for _, c := range []*client{alice, bob} {
		var msg chatOut
		c.decodeEvent("chat message", &msg)
		if msg.From != "bob" || msg.Text != "hi" {
			t.Errorf("chat message = %+v", msg)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
