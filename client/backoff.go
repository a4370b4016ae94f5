package client

import (
	"math"
	"math/rand/v2"
	"time"
)

// backoff computes reconnection delays exactly as socket.io-client's
// backo2: min * 2^attempts, moved down or up by rand*jitter of itself
// (the direction picked by the same random number), capped at max.
type backoff struct {
	min, max time.Duration
	jitter   float64
	attempts int
	rand     func() float64
}

func (b *backoff) duration() time.Duration {
	ms := float64(b.min.Milliseconds()) * math.Pow(2, float64(b.attempts))
	b.attempts++
	if b.jitter > 0 {
		r := b.rand()
		dev := math.Floor(r * b.jitter * ms)
		if int(math.Floor(r*10))&1 == 0 {
			ms -= dev
		} else {
			ms += dev
		}
	}
	ms = min(ms, float64(b.max.Milliseconds()))
	return time.Duration(ms) * time.Millisecond
}

func (b *backoff) reset() { b.attempts = 0 }

func newBackoff(o *Options) *backoff {
	return &backoff{min: o.ReconnectionDelay, max: o.ReconnectionDelayMax, jitter: o.RandomizationFactor, rand: rand.Float64}
}
