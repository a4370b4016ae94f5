module github.com/socketio-go/socketio/benchmarks

go 1.26

require github.com/socketio-go/socketio v0.0.0

replace github.com/socketio-go/socketio => ../
