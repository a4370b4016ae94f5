package msgpack

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/socketio-go/socketio/internal/nodetest"
)

// requireNode skips (or fails, under CI) when Node.js or the npm packages
// it needs are missing.
func requireNode(t testing.TB) {
	t.Helper()
	nodetest.Require(t, "testdata", "notepack.io")
}

// nodeReq is one request to testdata/differential.js.
type nodeReq struct {
	Op      string   `json:"op"`
	JSON    string   `json:"json,omitempty"` // base64
	Msg     string   `json:"msg,omitempty"`  // base64
	Atts    []string `json:"atts"`           // base64; null: no attachments
	Codec   string   `json:"codec,omitempty"`
	Float32 bool     `json:"float32,omitempty"`
}

// nodeAns is its answer.
type nodeAns struct {
	OK    bool     `json:"ok"`
	Error string   `json:"error"`
	Hex   string   `json:"hex"`
	JSON  string   `json:"json"` // base64
	Atts  []string `json:"atts"` // base64
}

func (a nodeAns) bytes() []byte {
	b, _ := hex.DecodeString(a.Hex)
	return b
}

func (a nodeAns) json() []byte {
	b, _ := base64.StdEncoding.DecodeString(a.JSON)
	return b
}

func (a nodeAns) atts() [][]byte {
	var out [][]byte
	for _, s := range a.Atts {
		b, _ := base64.StdEncoding.DecodeString(s)
		out = append(out, b)
	}
	return out
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func b64s(bs [][]byte) []string {
	if bs == nil {
		return nil
	}
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b64(b)
	}
	return out
}

// runNode sends the requests to one differential.js process and returns
// its answers, in order.
func runNode(t *testing.T, reqs []nodeReq) []nodeAns {
	t.Helper()
	cmd := exec.Command("node", "differential.js")
	cmd.Dir = "testdata"
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var werr error
	go func() {
		defer wg.Done()
		w := bufio.NewWriter(stdin)
		enc := json.NewEncoder(w)
		for _, r := range reqs {
			if werr = enc.Encode(r); werr != nil {
				break
			}
		}
		if err := w.Flush(); werr == nil {
			werr = err
		}
		stdin.Close()
	}()
	answers := make([]nodeAns, 0, len(reqs))
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var a nodeAns
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("node answer %q: %v", sc.Bytes(), err)
		}
		answers = append(answers, a)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, stdout)
	wg.Wait()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("node: %v", err)
	}
	if werr != nil {
		t.Fatalf("writing to node: %v", werr)
	}
	if len(answers) != len(reqs) {
		t.Fatalf("node answered %d of %d requests", len(answers), len(reqs))
	}
	return answers
}
