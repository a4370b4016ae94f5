module github.com/socketio-go/socketio/admin

go 1.26.0

replace github.com/socketio-go/socketio => ..

require github.com/socketio-go/socketio v0.0.0-00010101000000-000000000000

require golang.org/x/crypto v0.59.0
