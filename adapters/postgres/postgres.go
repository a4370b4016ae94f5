package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/adapter/cluster"
)

// Options configure NewAdapter. The zero value is the official adapter's
// defaults.
type Options struct {
	// ChannelPrefix is the prefix of the channels: a namespace's channel
	// is "<ChannelPrefix>#<namespace>". Zero means "socket.io". PostgreSQL
	// channel names are at most 63 bytes: the adapter of a namespace whose
	// channel would be longer fails to start (ErrChannelTooLong).
	ChannelPrefix string
	// TableName is the attachment table, written as is into the SQL
	// statements (it may be schema-qualified). Zero means
	// "socket_io_attachments".
	TableName string
	// PayloadThreshold is the longest JSON message sent as a NOTIFY
	// payload; longer ones go through the attachment table. Zero means
	// 8000 (a payload of 8000 bytes or more always does: PostgreSQL
	// refuses it).
	PayloadThreshold int
	// CleanupInterval is how often rows older than it are deleted from
	// the attachment table. Zero means 30s; negative disables the cleanup.
	CleanupInterval time.Duration
	// HeartbeatInterval is the interval between two heartbeats of this
	// server. Zero means 5s.
	HeartbeatInterval time.Duration
	// HeartbeatTimeout is how long a silent server is still counted.
	// Zero means 10s.
	HeartbeatTimeout time.Duration
	// RequestsTimeout bounds a request to the other servers (FetchSockets,
	// ServerSideEmitWithAck) when the caller's context has no earlier
	// deadline. Zero means 5s.
	RequestsTimeout time.Duration
	// Logger receives the adapter's diagnostics (malformed messages are
	// logged at most once a second). Nil means slog.Default().
	Logger *slog.Logger
}

// ErrChannelTooLong is returned when a namespace's channel name is longer
// than PostgreSQL's 63 bytes.
var ErrChannelTooLong = errors.New("postgres: channel name longer than 63 bytes")

func (o *Options) defaults() {
	if o.ChannelPrefix == "" {
		o.ChannelPrefix = "socket.io"
	}
	if o.TableName == "" {
		o.TableName = "socket_io_attachments"
	}
	if o.PayloadThreshold <= 0 {
		o.PayloadThreshold = 8000
	}
	if o.CleanupInterval == 0 {
		o.CleanupInterval = 30 * time.Second
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = 5 * time.Second
	}
	if o.HeartbeatTimeout <= 0 {
		o.HeartbeatTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// CreateAttachmentTable creates the attachment table (Options.TableName,
// zero meaning "socket_io_attachments") if it does not exist, with the
// columns the official adapter's documentation gives.
func CreateAttachmentTable(ctx context.Context, pool *pgxpool.Pool, tableName string) error {
	if tableName == "" {
		tableName = "socket_io_attachments"
	}
	_, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+tableName+` (
    id          bigserial UNIQUE,
    created_at  timestamptz DEFAULT NOW(),
    payload     bytea
)`)
	if err != nil {
		return fmt.Errorf("postgres: creating %s: %w", tableName, err)
	}
	return nil
}

// NewAdapter returns an adapter.Factory for a cluster on PostgreSQL,
// wire-compatible with the official @socket.io/postgres-adapter's
// createAdapter: Go and Node servers on the same database, with the same
// ChannelPrefix and TableName, form one cluster.
//
// The pool runs the NOTIFY, INSERT and SELECT statements; the adapters of
// all namespaces share one more connection of their own, made with the
// pool's connection settings, that LISTENs to their channels. When that
// connection is lost (PostgreSQL restarts), it is made again with backoff
// (100ms doubling up to 1s, with jitter) and LISTENs again; the notifications sent
// meanwhile are lost, as with the official adapter, and this server
// announces itself again so that the others answer its heartbeat at once.
// Messages are published in order, one NOTIFY each (one per transaction:
// PostgreSQL merges identical notifications of one transaction).
//
// A namespace's adapter starts once its channel is LISTENed to: if
// PostgreSQL cannot be reached within the server's adapter init timeout,
// the namespace is left without a cluster (the server logs the error).
// Use one factory per server: a second adapter for the same namespace on
// one factory fails to start.
func NewAdapter(pool *pgxpool.Pool, opts Options) adapter.Factory {
	opts.defaults()
	h := newHub(pool, &opts)
	return func(nsp adapter.Namespace) adapter.Adapter {
		t := &transport{
			h:       h,
			nsp:     nsp.Name(),
			channel: opts.ChannelPrefix + "#" + nsp.Name(),
		}
		a := cluster.New(nsp, t, cluster.Options{
			RequestsTimeout: opts.RequestsTimeout,
			Heartbeat:       &cluster.HeartbeatOptions{Interval: opts.HeartbeatInterval, Timeout: opts.HeartbeatTimeout},
			Logger:          opts.Logger,
		})
		t.a = a
		t.uid = a.UID()
		return a
	}
}

// transport is the cluster.Transport of one namespace.
type transport struct {
	h       *hub
	a       *cluster.Adapter
	nsp     string
	uid     string
	channel string
	deliver func(*cluster.Message, string)
}

func (t *transport) Start(ctx context.Context, deliver func(*cluster.Message, string)) error {
	if len(t.channel) > maxChannelLen {
		return fmt.Errorf("%w: %q", ErrChannelTooLong, t.channel)
	}
	t.deliver = deliver
	return t.h.add(ctx, t)
}

func (t *transport) Close(context.Context) error {
	t.h.remove(t)
	return nil
}

// ServerCount is not used: the servers are counted by their heartbeats.
func (t *transport) ServerCount(context.Context) (int, error) {
	return 0, errors.New("postgres: servers are counted by heartbeats")
}

func (t *transport) Publish(ctx context.Context, m *cluster.Message) (string, error) {
	return "", t.h.publish(ctx, t.channel, m)
}

// PublishResponse publishes on the namespace's channel, as the official
// adapter does: the requester recognizes its requests' ids.
func (t *transport) PublishResponse(ctx context.Context, _ string, m *cluster.Message) error {
	return t.h.publish(ctx, t.channel, m)
}

// handle decodes and delivers one notification of the namespace's
// channel; it runs on the listening goroutine.
func (t *transport) handle(ctx context.Context, payload string) {
	n, err := decodeNotification([]byte(payload))
	if err != nil {
		t.h.malformed.warn("postgres: malformed notification dropped", "channel", t.channel, "err", err)
		return
	}
	if n.uid == t.uid {
		return // ours (an attachment of ours is not read back)
	}
	m := n.msg
	if m == nil {
		if m, err = t.h.fetchAttachment(ctx, n.attachmentID); err != nil {
			t.h.malformed.warn("postgres: attachment dropped", "channel", t.channel, "id", n.attachmentID, "err", err)
			return
		}
	}
	if m.NSP == "" {
		// The official emitter (0.1) does not name the namespace: the
		// channel does.
		m.NSP = t.nsp
	}
	t.deliver(m, "")
}

// publish sends m on channel: a NOTIFY, or a row of the attachment table
// and a NOTIFY pointing to it.
func (h *hub) publish(ctx context.Context, channel string, m *cluster.Message) error {
	e, err := encode(m, h.opts.PayloadThreshold)
	if err != nil {
		return err
	}
	if e.attachment != nil {
		var id int64
		if err := h.pool.QueryRow(ctx, "INSERT INTO "+h.opts.TableName+" (payload) VALUES ($1) RETURNING id", e.attachment).Scan(&id); err != nil {
			return fmt.Errorf("postgres: storing an attachment: %w", err)
		}
		e.notify = appendHeader(nil, m.UID, m.Type, id)
	}
	if _, err := h.pool.Exec(ctx, "SELECT pg_notify($1, $2)", channel, string(e.notify)); err != nil {
		return fmt.Errorf("postgres: NOTIFY: %w", err)
	}
	return nil
}

// fetchAttachment reads and decodes the attachment row id.
func (h *hub) fetchAttachment(ctx context.Context, id int64) (*cluster.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var b []byte
	err := h.pool.QueryRow(ctx, "SELECT payload FROM "+h.opts.TableName+" WHERE id = $1", id).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: no attachment row %d", ErrMalformed, id)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: reading attachment %d: %w", id, err)
	}
	return decodeAttachment(b)
}
