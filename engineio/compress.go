package engineio

import (
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/socketio-go/socketio/engineio/packet"
)

// The compression of long-polling responses (the official httpCompression
// option): gzip or deflate (zlib format, as HTTP's "deflate" and Node's
// zlib.createDeflate), chosen from the request's Accept-Encoding as the
// official server does with the accepts package.

// defaultHTTPCompressionThreshold is the official httpCompression.threshold.
const defaultHTTPCompressionThreshold = 1024

// httpCompression is the validated HTTPCompressionOptions.
type httpCompression struct {
	disabled  bool
	threshold int
	level     int
}

func newHTTPCompression(o *HTTPCompressionOptions) httpCompression {
	hc := httpCompression{threshold: defaultHTTPCompressionThreshold, level: flate.DefaultCompression}
	if o == nil {
		return hc
	}
	if !validLevel(o.Level) {
		panic("engineio: invalid HTTPCompression.Level " + strconv.Itoa(o.Level))
	}
	hc.disabled = o.Disable
	if o.Threshold != 0 {
		hc.threshold = o.Threshold
	}
	if o.Level != 0 {
		hc.level = o.Level
	}
	return hc
}

// perMessageDeflate returns the effective PerMessageDeflate option, nil
// when off.
func (c *config) perMessageDeflate() *PerMessageDeflateOptions {
	o := c.wsCompression
	if o == nil {
		return nil
	}
	d := &PerMessageDeflateOptions{
		Threshold:             o.Threshold,
		Level:                 o.Level,
		ServerContextTakeover: o.CompressContextTakeover,
		ClientContextTakeover: o.DecompressContextTakeover,
	}
	if d.Threshold == 0 {
		d.Threshold = defaultHTTPCompressionThreshold // the same 1024
	}
	if d.Level == 0 {
		d.Level = flate.DefaultCompression
	}
	return d
}

// validLevel reports whether l is zero or a compress/flate level.
func validLevel(l int) bool {
	return l == 0 || (l >= flate.HuffmanOnly && l <= flate.BestCompression)
}

// compressible reports whether a payload made of pkts may be compressed:
// when at least one of them did not ask for no compression, as the
// official server decides.
func compressible(pkts []packet.Packet) bool {
	for i := range pkts {
		if !pkts[i].NoCompress {
			return true
		}
	}
	return false
}

// writePoll writes a long-polling response carrying payload, compressed
// when the configuration, the payload's packets (compress), its size and
// the request's Accept-Encoding allow it.
func (hc *httpCompression) writePoll(w http.ResponseWriter, r *http.Request, payload []byte, compress bool) {
	if hc.disabled || !compress || len(payload) < hc.threshold {
		writePollResponse(w, payload)
		return
	}
	bp := bodyPool.Get().(*[]byte)
	body, enc := hc.compressBody((*bp)[:0], payload, r.Header["Accept-Encoding"])
	if enc != "" {
		w.Header()["Content-Encoding"] = []string{enc}
		payload = body
	}
	writePollResponse(w, payload)
	if cap(body) <= maxPooledBody {
		*bp = body[:0]
		bodyPool.Put(bp)
	}
}

// bodyPool holds *[]byte buffers for compressed bodies.
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledBody is the largest compressed body buffer kept in bodyPool.
const maxPooledBody = 256 << 10

// compressBody appends body, compressed with the encoding the
// Accept-Encoding header values prefer among gzip and deflate, to dst. It
// returns the encoding used, or "" (and dst unchanged) if the header
// accepts neither. Writers are pooled.
func (hc *httpCompression) compressBody(dst, body []byte, acceptEncoding []string) (encoded []byte, encoding string) {
	encoding = preferredEncoding(acceptEncoding)
	if encoding == "" {
		return dst, ""
	}
	pools := &gzipPools
	if encoding == "deflate" {
		pools = &zlibPools
	}
	pw := pools.get(hc.level)
	pw.out.b = dst
	pw.zw.Reset(&pw.out)
	// Writes to an appendWriter cannot fail.
	_, _ = pw.zw.Write(body)
	_ = pw.zw.Close()
	encoded = pw.out.b
	pw.out.b = nil
	pools.put(hc.level, pw)
	return encoded, encoding
}

// appendWriter is an io.Writer appending to a slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// pooledWriter is a gzip or zlib writer with its output.
type pooledWriter struct {
	zw  resetWriter
	out appendWriter
}

// resetWriter is a gzip or zlib writer.
type resetWriter interface {
	io.WriteCloser
	Reset(io.Writer)
}

// writerPools pools writers of one format per level (index level+2).
type writerPools struct {
	newWriter func(w io.Writer, level int) resetWriter
	pools     [flate.BestCompression + 3]sync.Pool
}

func (p *writerPools) get(level int) *pooledWriter {
	if v := p.pools[level+2].Get(); v != nil {
		return v.(*pooledWriter)
	}
	pw := &pooledWriter{}
	pw.zw = p.newWriter(&pw.out, level)
	return pw
}

func (p *writerPools) put(level int, pw *pooledWriter) {
	p.pools[level+2].Put(pw)
}

var (
	gzipPools = writerPools{newWriter: func(w io.Writer, level int) resetWriter {
		zw, _ := gzip.NewWriterLevel(w, level) // the level was validated
		return zw
	}}
	zlibPools = writerPools{newWriter: func(w io.Writer, level int) resetWriter {
		zw, _ := zlib.NewWriterLevel(w, level)
		return zw
	}}
)

// preferredEncoding returns "gzip", "deflate" or "" for the Accept-Encoding
// header values, with the rules of the negotiator package behind the
// official server's choice: each encoding takes its most specific entry
// (its own name over "*"), then the highest quality, then the later entry;
// entries with quality 0 are refused; the encoding with the highest
// quality wins, then the more specific, then the earlier in the header,
// then gzip over deflate. No header means no compression.
func preferredEncoding(values []string) string {
	type priority struct {
		q        float64
		specific bool
		order    int
	}
	provided := [2]string{"gzip", "deflate"}
	var best [2]priority
	for i := range best {
		best[i].order = -1
	}
	order := 0
	for _, v := range values {
		for _, entry := range strings.Split(v, ",") {
			entry = strings.TrimSpace(entry)
			name, params, _ := strings.Cut(entry, ";")
			name = strings.TrimRight(name, " \t")
			if name == "" || strings.ContainsAny(name, " \t") {
				order++
				continue
			}
			q := 1.0
			for params != "" {
				var p string
				p, params, _ = strings.Cut(params, ";")
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if k == "q" {
					f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					if err != nil || f != f {
						f = 0
					}
					q = f
					break
				}
			}
			for i, enc := range provided {
				specific := strings.EqualFold(name, enc)
				if !specific && name != "*" {
					continue
				}
				b := &best[i]
				switch {
				case specific != b.specific:
					if !specific {
						continue
					}
				case q != b.q:
					if q < b.q {
						continue
					}
				}
				*b = priority{q: q, specific: specific, order: order}
			}
			order++
		}
	}
	choice := -1
	for i, b := range best {
		if b.order < 0 || b.q <= 0 {
			continue
		}
		if choice < 0 {
			choice = i
			continue
		}
		c := best[choice]
		if b.q > c.q || (b.q == c.q && b.specific && !c.specific) || (b.q == c.q && b.specific == c.specific && b.order < c.order) {
			choice = i
		}
	}
	if choice < 0 {
		return ""
	}
	return provided[choice]
}
