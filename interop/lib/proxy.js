// A TCP fault proxy for the interop tests: it forwards every connection it
// accepts to the server under test, and can break all its current
// connections at once, the way a network does:
//
//   reset()    RST on both sides (a crashed middlebox, a NAT that lost its
//              state and answers with RST)
//   close()    a clean FIN on both sides (both peers see an orderly close)
//   halfOpen() the client side is destroyed, the server side stays open and
//              silent: nothing is forwarded or closed any more, so the server
//              does not notice (the client switched networks; its packets
//              and the server's never reach each other again)
//
// Connections accepted after a fault are forwarded normally. Only Node's
// `net` module; no dependency.

import { createServer, connect as netConnect } from "node:net";
import { once as eventsOnce } from "node:events";
import { withTimeout, T } from "./harness.js";

/** One client connection and its connection to the server. */
class Pair {
  constructor(proxy, client) {
    this.proxy = proxy;
    this.client = client;
    this.server = netConnect({ host: "127.0.0.1", port: proxy.targetPort, allowHalfOpen: true });
    // "live": forwarding; "faulted": a fault took it over, no more forwarding
    this.state = "live";
    /** bytes written to the server (up) and received from it (down) */
    this.up = 0;
    this.down = 0;
    this.client.setNoDelay(true);
    this.server.setNoDelay(true);
    this.forward(this.client, this.server);
    this.forward(this.server, this.client);
    for (const [a, b] of [
      [this.client, this.server],
      [this.server, this.client],
    ]) {
      // an error on one side resets the other one, as a real path would
      a.on("error", () => {
        if (this.state === "live") this.fault(() => b.resetAndDestroy());
      });
      a.on("close", () => {
        // after a clean close the other side was ended ("end" below) and
        // closes once it flushed and its peer closed too
        if (this.state === "live" && !b.writableEnded) this.fault(() => b.destroy());
        this.forget();
      });
    }
  }

  forward(from, to) {
    const up = from === this.client;
    from.on("data", (chunk) => {
      if (this.state !== "live") return;
      if (!up) this.down += chunk.length;
      const ok = to.write(chunk, (err) => {
        // handed to the kernel: on loopback, in the peer's receive queue
        if (up && !err) {
          this.up += chunk.length;
          this.proxy._changed();
        }
      });
      if (!ok) {
        from.pause();
        to.once("drain", () => {
          if (this.state === "live") from.resume();
        });
      }
    });
    from.on("end", () => {
      if (this.state === "live") to.end(); // a half-close is forwarded as such
    });
  }

  /** Stops forwarding and runs `fn` (the fault or the teardown). */
  fault(fn) {
    this.state = "faulted";
    fn();
  }

  forget() {
    if (this.client.destroyed && this.server.destroyed) this.proxy.pairs.delete(this);
  }
}

export class FaultProxy {
  /** `targetPort`: the server's port on 127.0.0.1. */
  constructor(targetPort) {
    this.targetPort = targetPort;
    this.pairs = new Set();
    /** server-side sockets left open by halfOpen(), closed by stop() */
    this.zombies = new Set();
    /** number of connections accepted so far */
    this.accepted = 0;
    this._waiters = new Set();
    this.tcp = createServer({ allowHalfOpen: true }, (client) => {
      this.accepted++;
      this.pairs.add(new Pair(this, client));
    });
  }

  async start() {
    this.tcp.listen(0, "127.0.0.1");
    await eventsOnce(this.tcp, "listening");
    this.port = this.tcp.address().port;
    this.url = `http://127.0.0.1:${this.port}`;
    return this;
  }

  _changed() {
    for (const w of this._waiters) w();
  }

  /**
   * Resolves once a current connection carries a request the server has not
   * answered yet: bytes were written to the server's connection and none
   * came back (e.g. a long-polling GET that reached the server, since the
   * official client opens one TCP connection per polling request).
   */
  waitForPendingRequest(ms = T) {
    const pending = () => this._live().some((p) => p.up > 0 && p.down === 0);
    if (pending()) return Promise.resolve();
    let w;
    return withTimeout(
      new Promise((resolve) => {
        w = () => {
          if (pending()) resolve();
        };
        this._waiters.add(w);
      }),
      ms,
      "a pending request through the proxy",
    ).finally(() => this._waiters.delete(w));
  }

  /** The pairs a fault applies to: every current live connection. */
  _live() {
    return [...this.pairs].filter((p) => p.state === "live");
  }

  /** RST both sides of every current connection. Returns how many. */
  reset() {
    const live = this._live();
    for (const p of live) {
      p.fault(() => {
        p.client.resetAndDestroy();
        p.server.resetAndDestroy();
      });
    }
    return live.length;
  }

  /** Clean FIN both sides of every current connection. Returns how many. */
  close() {
    const live = this._live();
    for (const p of live) {
      p.fault(() => {
        // end() sends the FIN once the data already written is flushed;
        // whatever a peer sends afterwards is dropped, and each socket is
        // released when its peer has closed too
        for (const s of [p.client, p.server]) {
          s.end();
          s.resume(); // read (and drop) until the peer's FIN
          s.once("end", () => s.destroy());
          s.setTimeout(5000, () => s.destroy());
        }
      });
    }
    return live.length;
  }

  /**
   * Destroys the client side of every current connection; the server side
   * stays open and silent until stop(). Returns how many.
   */
  halfOpen() {
    const live = this._live();
    for (const p of live) {
      p.fault(() => {
        p.client.destroy();
        // neither read (the server's writes fill the kernel buffers, as
        // packets sent into a black hole would stay unacknowledged) nor
        // write nor close
        p.server.pause();
        this.zombies.add(p.server);
      });
    }
    return live.length;
  }

  /** Closes the listener and every connection, the half-open ones included. */
  async stop() {
    const closed = new Promise((resolve) => this.tcp.close(resolve));
    for (const p of this.pairs) {
      p.state = "faulted";
      p.client.destroy();
      p.server.destroy();
    }
    for (const s of this.zombies) s.destroy();
    this.pairs.clear();
    this.zombies.clear();
    await closed;
  }
}

/** Starts a proxy in front of `server` (a ServerProcess, or anything with a `port`). */
export async function startProxy(server) {
  return new FaultProxy(server.port).start();
}
