// Command testserver is the server of the Chromium test
// (browser_test.mjs): a Socket.IO server with WebTransport enabled, on
// 127.0.0.1, HTTP on a TCP port and WebTransport on the same UDP port,
// with a fresh self-signed ECDSA P-256 certificate valid for 10 days (the
// browser trusts it through serverCertificateHashes). It serves the page
// and the official client bundle, prints {"port":P,"hash":"<sha-256 hex>"}
// then one JSON line per connection and disconnection, and stops when its
// standard input closes.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/transport/webtransport"
)

func main() {
	bundle := flag.String("bundle", "", "path of socket.io.min.js")
	debug := flag.Bool("debug", false, "log at Debug level to standard error")
	ping := flag.Duration("ping", 0, "ping interval and timeout (0: the defaults)")
	flag.Parse()
	logger := slog.New(slog.DiscardHandler)
	if *debug {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if err := run(*bundle, *ping, logger); err != nil {
		log.Fatal(err)
	}
}

var out = struct {
	sync.Mutex
	enc *json.Encoder
}{enc: json.NewEncoder(os.Stdout)}

func emit(v any) {
	out.Lock()
	defer out.Unlock()
	_ = out.enc.Encode(v)
}

func run(bundle string, ping time.Duration, logger *slog.Logger) error {
	js, err := os.ReadFile(bundle)
	if err != nil {
		return err
	}
	cert, hash, err := newCert()
	if err != nil {
		return err
	}
	ln, pc, err := listenBoth()
	if err != nil {
		return err
	}
	defer pc.Close()
	sio := socketio.NewServer(&socketio.Options{
		Transports:              []string{"polling", "websocket", "webtransport"},
		ConnectionStateRecovery: &socketio.ConnectionStateRecovery{},
		Logger:                  logger,
		PingInterval:            ping,
		PingTimeout:             ping,
	})
	sio.OnConnection(onConnection)
	wt, err := webtransport.New(sio.Engine(), &webtransport.Options{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, Logger: logger})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", sio)
	mux.HandleFunc("/socket.io.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write(js)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, `<!doctype html><script src="/socket.io.js"></script>`)
	})
	hs := &http.Server{Handler: mux}
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	go func() { errc <- wt.Serve(pc) }()
	emit(map[string]any{"port": ln.Addr().(*net.TCPAddr).Port, "hash": hex.EncodeToString(hash)})

	stdin := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdin)
	}()
	select {
	case <-stdin:
	case err = <-errc:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(ctx)
	_ = sio.Shutdown(ctx)
	_ = wt.Shutdown(ctx)
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, webtransport.ErrServerClosed) {
		err = nil
	}
	return err
}

func onConnection(s *socketio.Socket) {
	emit(map[string]any{"event": "connect", "id": s.ID(), "transport": s.Transport(), "recovered": s.Recovered()})
	s.OnDisconnect(func(reason socketio.DisconnectReason) {
		emit(map[string]any{"event": "disconnect", "id": s.ID(), "reason": reason, "transport": s.Transport()})
	})
	// echo acknowledges with its own arguments, binary ones included.
	s.On("echo", func(e *socketio.Event) { _ = e.Ack(e.Args().Spread()...) })
	s.On("transport", func(e *socketio.Event) { _ = e.Ack(s.Transport()) })
	// ask emits "question" with an acknowledgement, and acknowledges
	// with what the client answered.
	s.On("ask", func(e *socketio.Event) {
		ctx, cancel := context.WithTimeout(e.Context(), 5*time.Second)
		defer cancel()
		reply, err := s.EmitWithAck(ctx, "question", "what?", []byte{1, 2, 3})
		if err != nil {
			_ = e.Ack("error: " + err.Error())
			return
		}
		_ = e.Ack(reply.Spread()...)
	})
	s.On("push", func(e *socketio.Event) { _ = s.Emit("pushed", "text", []byte{0xde, 0xad, 0xbe, 0xef}) })
	s.On("kick", func(e *socketio.Event) { s.Disconnect(true) })
}

// newCert returns a self-signed ECDSA P-256 certificate for 127.0.0.1,
// valid for 10 days (browsers accept at most 14 through
// serverCertificateHashes), and the SHA-256 hash of its DER encoding.
func newCert() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	sum := sha256.Sum256(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, sum[:], nil
}

// listenBoth listens on a TCP port of 127.0.0.1 and the UDP port of the
// same number: the client reaches WebTransport at the host and port of
// its HTTP URL.
func listenBoth() (net.Listener, net.PacketConn, error) {
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		pc, err := net.ListenPacket("udp", ln.Addr().String())
		if err == nil {
			return ln, pc, nil
		}
		ln.Close()
	}
	return nil, nil, fmt.Errorf("no port free on both TCP and UDP")
}
