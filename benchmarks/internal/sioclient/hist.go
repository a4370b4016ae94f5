package sioclient

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// Histogram records latencies in microseconds with a relative error below
// 1% (log-linear buckets, 128 per power of two). Record is safe for
// concurrent use and does not allocate.
type Histogram struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	max    atomic.Uint64
}

const (
	subBits     = 7
	subCount    = 1 << subBits
	histBuckets = subCount * 40
)

func bucket(v uint64) int {
	if v < subCount {
		return int(v)
	}
	e := bits.Len64(v) - subBits - 1
	i := (e+1)*subCount + int(v>>e) - subCount
	if i >= histBuckets {
		return histBuckets - 1
	}
	return i
}

func bucketValue(i int) float64 {
	if i < subCount {
		return float64(i)
	}
	e := i/subCount - 1
	m := uint64(i%subCount + subCount)
	lo := m << e
	return float64(lo) + float64(uint64(1)<<e)/2
}

// Record adds one value (µs).
func (h *Histogram) Record(us int64) {
	if us < 0 {
		us = 0
	}
	v := uint64(us)
	h.counts[bucket(v)].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
}

// Count returns the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n.Load() }

// Quantile returns the q-quantile in microseconds (NaN if empty).
func (h *Histogram) Quantile(q float64) float64 {
	n := h.n.Load()
	if n == 0 {
		return math.NaN()
	}
	rank := uint64(math.Ceil(q * float64(n)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return min(bucketValue(i), float64(h.max.Load()))
		}
	}
	return float64(h.max.Load())
}

// Max returns the largest value recorded.
func (h *Histogram) Max() float64 { return float64(h.max.Load()) }
