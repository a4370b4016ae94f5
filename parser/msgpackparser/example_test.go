package msgpackparser_test

import (
	"fmt"

	"github.com/socketio-go/socketio/parser"
	"github.com/socketio-go/socketio/parser/msgpackparser"
)

// A packet with a binary argument becomes one binary message, the binary
// in place; decoding gives back the JSON form the server and client use.
func ExampleParser() {
	p := &parser.Packet{
		Type:        parser.Event,
		Namespace:   "/",
		ID:          parser.NoID,
		Data:        []byte(`["file",{"_placeholder":true,"num":0}]`),
		Attachments: [][]byte{{1, 2, 3}},
	}
	msgs, err := msgpackparser.Parser{}.Encode(nil, p)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d message, binary %v: %x\n", len(msgs), msgs[0].Binary, msgs[0].Data)

	dec := msgpackparser.Parser{}.NewDecoder(parser.Limits{})
	q, err := dec.Decode(msgs[0].Data, true)
	if err != nil {
		panic(err)
	}
	fmt.Println(q.Type, q.Namespace, string(q.Data), q.Attachments)
	// Output:
	// 1 message, binary true: 83a47479706502a46461746192a466696c65c403010203a36e7370a12f
	// EVENT / ["file",{"_placeholder":true,"num":0}] [[1 2 3]]
}
