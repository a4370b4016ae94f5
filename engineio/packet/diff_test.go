package packet

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/socketio-go/socketio/internal/difffuzz"
)

// The differential test of DecodeText and DecodePayload against
// engine.io-parser 5.2.3 (decodePacket, decodePayload), run by
// internal/difffuzz. The official parser returns an error packet instead
// of failing; decodePayload stops after it, as DecodePayload stops at its
// error, so a payload is compared as the list of packets delivered, an
// error packet ending it.

// eioPacket is a decoded packet in the form oracle.js reads.
type eioPacket struct {
	Type   string  `json:"type"`
	Binary bool    `json:"binary,omitempty"`
	Data   *string `json:"data"` // base64; null when absent
}

func oursPacket(p Packet, err error) eioPacket {
	if err != nil {
		return eioPacket{Type: "error"}
	}
	return eioPacket{Type: p.Type.String(), Binary: p.Binary, Data: difffuzz.B64(p.Data)}
}

type eioAnswer struct {
	Packet  [2]string // official, ours
	Payload [2]string
}

// eioDeliberate is a difference from engine.io-parser that we keep on
// purpose; docs/conformance.md lists the same entries.
type eioDeliberate struct {
	name, reason string
	example      string // an input showing it; TestDiffEngineIO checks it
	// match reports whether the difference for a segment (one packet of a
	// payload) is this one, given the official normalised packet.
	match func(seg []byte, official string) bool
}

var eioDeliberates = []eioDeliberate{{
	name: "forgiving base64",
	reason: "Node.js decodes the base64 of a binary packet leniently: it skips the characters outside the " +
		"alphabet, takes the URL-safe alphabet too, stops at the first '=' and drops an incomplete last " +
		"group. We accept the standard padded base64 every Engine.IO encoder writes (line breaks ignored) " +
		"and reject the rest instead of delivering bytes the sender did not mean.",
	example: "bAQI",
	match: func(seg []byte, official string) bool {
		return len(seg) > 0 && seg[0] == 'b' && bytes.HasPrefix([]byte(official), []byte(`{"type":"message","bin":`))
	},
}}

// eioAllowed reports the deliberate difference explaining that ours
// rejected seg while engine.io-parser decoded it as official.
func eioAllowed(seg []byte, official string) *eioDeliberate {
	for i := range eioDeliberates {
		if eioDeliberates[i].match(seg, official) {
			return &eioDeliberates[i]
		}
	}
	return nil
}

// eioCheck compares DecodeText and DecodePayload with the official parser
// for body and returns the names of the deliberate differences met.
func eioCheck(t *testing.T, o *difffuzz.Oracle, body []byte) []string {
	t.Helper()
	req := struct {
		Op   string  `json:"op"`
		In   *string `json:"in"`
		Ours struct {
			Packet  eioPacket   `json:"packet"`
			Payload []eioPacket `json:"payload"`
		} `json:"ours"`
	}{Op: "eio", In: difffuzz.B64(append([]byte{}, body...))}
	req.Ours.Packet = oursPacket(DecodeText(body))
	err := DecodePayload(body, func(p Packet) error {
		req.Ours.Payload = append(req.Ours.Payload, oursPacket(p, nil))
		return nil
	})
	if err != nil {
		req.Ours.Payload = append(req.Ours.Payload, eioPacket{Type: "error"})
	}
	segs := bytes.Split(body, []byte{Separator}) // one per packet
	var ans eioAnswer
	o.Call(t, req, &ans)
	var met []string
	if ans.Packet[0] != ans.Packet[1] {
		if d := eioAllowed(body, ans.Packet[0]); d != nil && ans.Packet[1] == `{"type":"error"}` {
			met = append(met, d.name)
		} else {
			t.Errorf("DecodeText(%q):\nengine.io-parser %s\n            ours %s", body, ans.Packet[0], ans.Packet[1])
		}
	}
	if ans.Payload[0] != ans.Payload[1] {
		// Allowed when the packets agree up to one ours rejects for a
		// deliberate reason.
		var official, ours []string
		if err := json.Unmarshal([]byte(ans.Payload[0]), &official); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(ans.Payload[1]), &ours); err != nil {
			t.Fatal(err)
		}
		k := 0
		for k < len(official) && k < len(ours) && official[k] == ours[k] {
			k++
		}
		var d *eioDeliberate
		if k < len(official) && k == len(ours)-1 && ours[k] == `{"type":"error"}` && k < len(segs) {
			d = eioAllowed(segs[k], official[k])
		}
		if d != nil {
			met = append(met, d.name)
		} else {
			t.Errorf("DecodePayload(%q):\nengine.io-parser %s\n            ours %s", body, ans.Payload[0], ans.Payload[1])
		}
	}
	return met
}

// eioSeeds are the inputs of the fuzz targets of the package, the packets
// of the official test suite and edge cases of the format.
var eioSeeds = []string{
	"4hello", "4test1\x1e4test2\x1e4test3", "4hello\x1ebAQIDBA==", "2probe", "3probe", "abc", "", "b", "6\x1e1",
	"0", "1", "2", "3", "4", "5", "6", "7", "9x", "4€ 😀", "4\xff\xfe", "\xff", "bAQIDBA==", "bAQID\nBA==",
	"bAQI", "b!!!", "bAQ=", "b-_8", "bYR==", "bAQ==AQ==", "b AQID", "4a\x1e", "\x1e", "4a\x1e\x1e4b",
	"4a\x1eabc", "4a\x1eb", "b\x1eb", "0{\"sid\":\"x\"}", "4\x1e", "B", "bQUJD\xffREVG",
}

func FuzzDiffEngineIOPayload(f *testing.F) {
	for _, s := range eioSeeds {
		f.Add([]byte(s))
	}
	o := difffuzz.Start(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		eioCheck(t, o, body)
	})
}

// TestDiffEngineIO runs the seeds and a fixed set of mutations of them
// through both parsers, and checks that each deliberate difference is
// still one.
func TestDiffEngineIO(t *testing.T) {
	o := difffuzz.Start(t)
	for _, d := range eioDeliberates {
		met := eioCheck(t, o, []byte(d.example))
		if len(met) == 0 || met[0] != d.name {
			t.Errorf("deliberate difference %q: its example %q shows %v", d.name, d.example, met)
		}
	}
	met := map[string]int{}
	for _, s := range eioSeeds {
		for _, name := range eioCheck(t, o, []byte(s)) {
			met[name]++
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for range n {
		body := difffuzz.Mutate(rng, []byte(eioSeeds[rng.IntN(len(eioSeeds))]), eioAlphabet)
		for _, name := range eioCheck(t, o, body) {
			met[name]++
		}
		if t.Failed() {
			break
		}
	}
	for _, d := range eioDeliberates {
		t.Logf("%d inputs show %q", met[d.name], d.name)
	}
}

// eioAlphabet are the fragments mutations insert.
var eioAlphabet = []string{
	"0", "1", "2", "4", "6", "7", "b", "B", "=", "==", "\x1e", "\n", "\r", " ", "-", "_", "+", "/", "A", "Q",
	"AQID", "probe", "\xff", "é", "\x00",
}
