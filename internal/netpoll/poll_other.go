//go:build !linux

package netpoll

// Poller is not available on this platform; New always fails.
type Poller struct{}

// New returns ErrUnsupported.
func New(func(func())) (*Poller, error) { return nil, ErrUnsupported }

// Wait returns ErrUnsupported.
func (p *Poller) Wait(Conn, func()) error { return ErrUnsupported }

// Cancel does nothing.
func (p *Poller) Cancel(Conn) {}

// Close does nothing.
func (p *Poller) Close() error { return nil }
