package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// TestOutageErrors: only failures to reach Redis start an outage, not
// errors Redis answered nor the end of the caller's context.
func TestOutageErrors(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{fmt.Errorf("wrapped: %w", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), true},
		{io.EOF, true},
		{io.ErrUnexpectedEOF, true},
		{context.DeadlineExceeded, false},
		{fmt.Errorf("cluster: %w", context.Canceled), false},
		{goredis.ErrClosed, false},
		{errors.New("ERR unknown command 'SPUBLISH'"), false},
	} {
		if got := isNetworkError(c.err); got != c.want {
			t.Errorf("isNetworkError(%v) = %v, want %v", c.err, got, c.want)
		}
	}

	// A Redis that refuses connections: the outage starts with the first
	// network error and lasts (the probe keeps failing) until close.
	c := goredis.NewClient(&goredis.Options{Addr: fmt.Sprint("127.0.0.1:", freePort(t)), MaxRetries: -1, DialerRetries: 1})
	defer c.Close()
	o := newOutage(c)
	if err := o.check(); err != nil {
		t.Fatal(err)
	}
	if err := o.report(context.DeadlineExceeded); !errors.Is(err, context.DeadlineExceeded) || o.check() != nil {
		t.Fatalf("a deadline started an outage: %v", o.check())
	}
	err := c.Ping(context.Background()).Err()
	if got := o.report(err); got != err || !errors.Is(o.check(), errUnreachable) {
		t.Fatalf("after %v: report %v, check %v", err, got, o.check())
	}
	o.close()
	o.close()
	if o.report(err); !errors.Is(o.check(), errUnreachable) {
		t.Fatal("the outage ended without a PING")
	}
}
