module github.com/socketio-go/socketio

go 1.26
