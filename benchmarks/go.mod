module github.com/socketio-go/socketio/benchmarks

go 1.26.0

require (
	github.com/gorilla/websocket v1.5.3
	github.com/jackc/pgx/v5 v5.12.0
	github.com/nats-io/nats.go v1.55.0
	github.com/prometheus/client_golang v1.25.0
	github.com/redis/go-redis/v9 v9.23.0
	github.com/redis/rueidis v1.0.79
	github.com/socketio-go/socketio v0.0.0
	github.com/socketio-go/socketio/adapters/nats v0.0.0
	github.com/socketio-go/socketio/adapters/postgres v0.0.0
	github.com/socketio-go/socketio/adapters/redis v0.0.0
)

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/klauspost/compress v1.20.1 // indirect
	github.com/nats-io/nkeys v0.4.16 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	github.com/socketio-go/socketio/metrics/prometheus v0.0.0
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/crypto v0.57.0 // indirect
	golang.org/x/sync v0.23.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
)

replace github.com/socketio-go/socketio => ../

replace github.com/socketio-go/socketio/adapters/redis => ../adapters/redis

replace github.com/socketio-go/socketio/adapters/postgres => ../adapters/postgres

replace github.com/socketio-go/socketio/adapters/nats => ../adapters/nats

replace github.com/socketio-go/socketio/metrics/prometheus => ../metrics/prometheus
