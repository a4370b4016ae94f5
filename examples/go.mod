module github.com/socketio-go/socketio/examples

go 1.26

require github.com/socketio-go/socketio v0.0.0

replace github.com/socketio-go/socketio => ../
