package parser

import (
	"testing"
)

var (
	smallEvent  = []byte(`2/chat,17["message",{"user":"ada","text":"hello, world","ts":1700000000000}]`)
	binaryEvent = []byte(`52-["upload",{"name":"a.bin","data":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1}]`)
)

func BenchmarkDecodeText(b *testing.B) {
	var d Decoder
	b.ReportAllocs()
	b.SetBytes(int64(len(smallEvent)))
	for b.Loop() {
		p, err := d.DecodeText(smallEvent)
		if err != nil || p == nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBinaryEvent(b *testing.B) {
	var d Decoder
	att0, att1 := []byte{1, 2, 3}, []byte{4, 5, 6}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.DecodeText(binaryEvent); err != nil {
			b.Fatal(err)
		}
		_, _ = d.DecodeBinary(att0)
		p, err := d.DecodeBinary(att1)
		if err != nil || p == nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendArray(b *testing.B) {
	buf := make([]byte, 0, 256)
	var atts [][]byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = AppendArray(buf[:0], &atts, "message", "hello, world", 42, true)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendArrayStruct(b *testing.B) {
	type msg struct {
		User string `json:"user"`
		Text string `json:"text"`
		TS   int64  `json:"ts"`
		Blob []byte `json:"blob,omitempty"`
	}
	m := &msg{User: "ada", Text: "hello, world", TS: 1700000000000, Blob: []byte{1, 2, 3}}
	buf := make([]byte, 0, 256)
	atts := make([][]byte, 0, 4)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		atts = atts[:0]
		buf, err = AppendArray(buf[:0], &atts, "message", m)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendText(b *testing.B) {
	p := Packet{Type: Event, Namespace: "/chat", ID: 17, Data: smallEvent[9:]}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = p.AppendText(buf[:0])
	}
}

func BenchmarkSplitArray(b *testing.B) {
	data := smallEvent[9:]
	elems := make([][]byte, 0, 8)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var err error
		if elems, err = SplitArray(elems[:0], data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEventName(b *testing.B) {
	data := smallEvent[9:]
	b.ReportAllocs()
	for b.Loop() {
		if name, err := EventName(data); err != nil || name != "message" {
			b.Fatal(name, err)
		}
	}
}

func BenchmarkDecodeValueStruct(b *testing.B) {
	raw := []byte(`{"name":"a.bin","data":{"_placeholder":true,"num":0}}`)
	atts := [][]byte{{1, 2, 3}}
	var v struct {
		Name string `json:"name"`
		Data []byte `json:"data"`
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeValue(raw, atts, &v); err != nil {
			b.Fatal(err)
		}
	}
}
