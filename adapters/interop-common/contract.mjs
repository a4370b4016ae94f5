// The cluster app contract (see the README.md of adapters/*/interop) on the
// official socket.io server: what every Node app of the adapters' mixed
// clusters does, whatever its adapter. Each node-app.js sets up its
// adapter, then calls serveContract. One JSON object a line on stdout.

function log(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

// Binary values as {"$bin": hex}, so that log lines are comparable between
// the two implementations.
function plain(v) {
  if (Buffer.isBuffer(v)) return { $bin: v.toString("hex") };
  if (v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString("hex") };
  if (ArrayBuffer.isView(v)) return { $bin: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex") };
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = plain(x);
    return o;
  }
  return v;
}

function sortKey(v) {
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return "b:" + plain(v).$bin;
  if (typeof v === "string") return "s:" + v;
  return "j:" + JSON.stringify(plain(v));
}

function sorted(values) {
  return [...(values || [])].sort((a, b) => {
    const ka = sortKey(a);
    const kb = sortKey(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/**
 * Serves the cluster contract (README.md of each adapter's interop
 * directory) with io, whose adapter the caller set up and whose /aux
 * namespace exists: installs the middleware and handlers, attaches io to
 * httpServer (listening on port), prints `listening <port>`, and on SIGTERM,
 * SIGINT or (with EXIT_ON_STDIN_EOF=1) the end of stdin closes io, then
 * calls close (the broker's clients) and exits.
 */
export function serveContract({ io, httpServer, port, close }) {
  const KIND = "node";
  const LABEL = `${KIND}:${port}`;
  const aux = io.of("/aux");

  function operator(spec, socket) {
    spec = spec || {};
    let op = spec.nsp ? io.of(spec.nsp) : spec.fromSocket ? socket.broadcast : io;
    if (spec.to && spec.to.length) op = op.to(spec.to);
    if (spec.except && spec.except.length) op = op.except(spec.except);
    if (spec.local) op = op.local;
    if (spec.volatile) op = op.volatile;
    if (spec.compress !== undefined) op = op.compress(spec.compress);
    return op;
  }

  function describeSocket(s) {
    const hs = s.handshake || {};
    const q = hs.query || {};
    return {
      id: s.id,
      rooms: [...s.rooms].sort(),
      data: s.data === undefined ? null : plain(s.data),
      auth: hs.auth === undefined ? null : hs.auth,
      hs: {
        url: hs.url ?? null,
        issued: hs.issued ?? null,
        eio: q.EIO ?? null,
        transport: q.transport ?? null,
        address: hs.address ?? null,
        secure: hs.secure ?? null,
        xdomain: hs.xdomain ?? null,
        host: (hs.headers && hs.headers.host) ?? null,
      },
    };
  }

  // Rooms and data come from the handshake's auth, before the client is told
  // it is connected. Numbers stay numbers: socket.join(42) is a Node idiom.
  io.use((socket, next) => {
    const auth = socket.handshake.auth || {};
    if (Array.isArray(auth.rooms)) socket.join(auth.rooms);
    if (auth.data !== undefined) socket.data = auth.data;
    next();
  });

  // lastArg splits the acknowledgement callback off the arguments.
  function withAck(args) {
    const cb = typeof args[args.length - 1] === "function" ? args.pop() : () => {};
    return [args, cb];
  }

  io.on("connection", (socket) => {
    log({ event: "connection", nsp: "/", id: socket.id, rooms: [...socket.rooms].sort(), recovered: socket.recovered });
    socket.on("disconnect", (reason) => log({ event: "disconnect", nsp: "/", id: socket.id, reason }));

    socket.on("info", (cb) => cb({ label: LABEL, kind: KIND, id: socket.id }));

    socket.on("set-data", (value, cb) => {
      socket.data = value;
      cb(true);
    });

    socket.on("server-count", async (cb) => {
      try {
        cb(await io.of("/").adapter.serverCount());
      } catch (err) {
        cb({ error: err.message });
      }
    });

    socket.on("broadcast", (spec, ...rest) => {
      const [args, cb] = withAck(rest);
      operator(spec, socket).emit(spec.event, ...args);
      cb(true);
    });

    socket.on("broadcast-ack", (spec, ...rest) => {
      const [args, cb] = withAck(rest);
      operator(spec, socket)
        .timeout(spec.timeout ?? 2000)
        .emit(spec.event, ...args, (err, responses) => {
          cb({ err: err ? err.message || String(err) : null, responses: sorted(responses) });
        });
    });

    socket.on("fetch", async (spec, cb) => {
      try {
        let op = operator(spec, socket);
        // (the sharded adapter's timeout; the classic one has requestsTimeout)
        if (spec.timeout) op = op.timeout(spec.timeout);
        const sockets = await op.fetchSockets();
        cb({ err: null, sockets: sockets.map(describeSocket).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) });
      } catch (err) {
        cb({ err: err.message, sockets: [] });
      }
    });

    socket.on("join", (spec, cb) => {
      operator(spec, socket).socketsJoin(spec.rooms);
      cb(true);
    });

    socket.on("leave", (spec, cb) => {
      operator(spec, socket).socketsLeave(spec.rooms);
      cb(true);
    });

    socket.on("disconnect-sockets", (spec, cb) => {
      operator(spec, socket).disconnectSockets(!!spec.close);
      cb(true);
    });

    socket.on("sse", (event, ...rest) => {
      const [args, cb] = withAck(rest);
      io.serverSideEmit(event, ...args);
      cb(true);
    });

    socket.on("sse-ack", (event, ...rest) => {
      const [args, cb] = withAck(rest);
      io.serverSideEmit(event, ...args, (err, responses) => {
        cb({ err: err ? err.message || String(err) : null, responses: sorted(responses) });
      });
    });
  });

  aux.on("connection", (socket) => {
    log({ event: "connection", nsp: "/aux", id: socket.id });
    socket.on("disconnect", (reason) => log({ event: "disconnect", nsp: "/aux", id: socket.id, reason }));
  });

  // Server-side events from the other servers.
  for (const name of ["whoami", "echo", "note"]) {
    io.on(name, (...args) => {
      const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
      log({ event: "server-side", name, args: plain(args), ack: !!cb });
      if (!cb) return;
      if (name === "whoami") cb(LABEL);
      else if (name === "echo") cb(args[0]);
    });
  }

  io.attach(httpServer);
  process.stdout.write(`listening ${port}\n`);

  let closing = false;
  async function shutdown() {
    if (closing) return;
    closing = true;
    try {
      await io.close();
    } catch {
      // ignore
    }
    await close();
    process.exit(0);
  }
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  if (process.env.EXIT_ON_STDIN_EOF === "1") {
    process.stdin.on("end", shutdown);
    process.stdin.on("error", shutdown);
    process.stdin.resume();
  }
}
