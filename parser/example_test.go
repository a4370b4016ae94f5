package parser_test

import (
	"fmt"

	"github.com/socketio-go/socketio/parser"
)

// A server receives a binary event with an ack id, reads its arguments and
// answers with an ack carrying binary data.
func Example() {
	var d parser.Decoder

	// The text message, then one binary message per attachment.
	p, err := d.DecodeText([]byte(`51-/chat,7["upload","a.txt",{"_placeholder":true,"num":0}]`))
	fmt.Println(p, err, d.Pending())
	p, err = d.DecodeBinary([]byte("hello"))
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Type, p.Namespace, p.ID)

	name, _ := parser.EventName(p.Data)
	args, _ := parser.SplitArray(nil, p.Data)
	var file string
	var content []byte
	_ = parser.DecodeValue(args[1], p.Attachments, &file)
	_ = parser.DecodeValue(args[2], p.Attachments, &content)
	fmt.Printf("%s %s %q\n", name, file, content)

	// The answer: an ack whose arguments hold a []byte.
	ack := parser.Packet{Type: parser.Ack, Namespace: p.Namespace, ID: p.ID}
	ack.Data, err = parser.AppendArray(nil, &ack.Attachments, map[string]any{"ok": true, "echo": content})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s + %q\n", ack.AppendText(nil), ack.Attachments)
	// Output:
	// <nil> <nil> true
	// BINARY_EVENT /chat 7
	// upload a.txt "hello"
	// 61-/chat,7[{"echo":{"_placeholder":true,"num":0},"ok":true}] + ["hello"]
}
