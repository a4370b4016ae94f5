package socketio

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportGraph enforces the layering of the module: codecs are pure,
// the Engine.IO layer knows nothing of Socket.IO, adapters know nothing of
// HTTP or the socketio package, and the core needs only the standard
// library.
func TestImportGraph(t *testing.T) {
	const mod = "github.com/socketio-go/socketio"
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", mod+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := map[string][]string{
		mod + "/engineio/packet":      {},
		mod + "/parser":               {},
		mod + "/internal/websocket":   {},
		mod + "/internal/tasks":       {},
		mod + "/internal/leakcheck":   {},
		mod + "/internal/difffuzz":    {},
		mod + "/internal/faultproxy":  {},
		mod + "/internal/netpoll":     {},
		mod + "/internal/h1":          {},
		mod + "/internal/nodetest":    {},
		mod + "/internal/clustertest": {mod, mod + "/client"},
		mod + "/adapter":              {mod + "/parser"},
		mod + "/msgpack":              {mod + "/parser"},
		mod + "/parser/msgpackparser": {mod + "/parser", mod + "/msgpack"},
		mod + "/adapter/cluster":      {mod + "/adapter", mod + "/parser", mod + "/msgpack"},
		mod + "/engineio":             {mod + "/engineio/packet", mod + "/internal/websocket", mod + "/internal/tasks", mod + "/internal/netpoll"},
		mod:                           {mod + "/engineio", mod + "/engineio/packet", mod + "/parser", mod + "/adapter", mod + "/internal/tasks", mod + "/internal/sioargs", mod + "/internal/h1"},
		mod + "/cmd/conformance":      {mod, mod + "/engineio"},
		mod + "/interop/goserver":     {mod, mod + "/parser/msgpackparser", mod + "/internal/interopapp"},
		mod + "/internal/sioargs":     {mod + "/parser"},
		mod + "/internal/eioclient":   {mod + "/engineio/packet", mod + "/internal/websocket", mod + "/internal/tasks"},
		mod + "/client":               {mod + "/engineio/packet", mod + "/parser", mod + "/internal/eioclient", mod + "/internal/sioargs", mod + "/internal/tasks"},
		mod + "/cmd/socketio":         {mod + "/client"},
		mod + "/interop/client":       {mod + "/client", mod + "/parser/msgpackparser"},
		mod + "/interop/restart":      {mod, mod + "/client", mod + "/internal/leakcheck"}, // tests only
		mod + "/cmd/benchserver":      {mod, mod + "/internal/benchapp"},
		mod + "/internal/benchapp":    {mod},
		mod + "/internal/interopapp":  {mod, mod + "/adapter"}, // the adapters' interop goapps
		mod + "/internal/soak":        {mod, mod + "/client"},
		mod + "/cmd/socketio-soak":    {mod, mod + "/internal/soak"},
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		allow, ok := allowed[p.ImportPath]
		if !ok {
			t.Errorf("package %s has no import rule: add one to TestImportGraph", p.ImportPath)
			continue
		}
		seen++
		for _, imp := range p.Imports {
			if !strings.Contains(strings.Split(imp, "/")[0], ".") {
				continue // standard library
			}
			if !slices.Contains(allow, imp) {
				t.Errorf("%s imports %s, which the layering forbids", p.ImportPath, imp)
			}
		}
	}
	if seen == 0 {
		t.Fatal("go list returned no package")
	}
}
