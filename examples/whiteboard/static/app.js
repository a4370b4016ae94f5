// The whiteboard page. Plain JavaScript, no build step; `io` comes from
// /socket.io/socket.io.min.js, the official browser client.
"use strict";

const $ = (id) => document.getElementById(id);
const canvas = $("canvas");
const ctx = canvas.getContext("2d");

// The drawing as this page knows it, by stroke id (its own strokes get
// their id from the server's acknowledgement). Exposed for the browser test.
const board = (window.board = { strokes: new Map(), cursors: new Map() });

const socket = io({ reconnectionDelayMax: 2000 });

socket.on("connect", () => {
  $("status").dataset.state = "connected";
  $("status").textContent = "connected";
});
socket.on("disconnect", () => {
  $("status").dataset.state = "reconnecting";
  $("status").textContent = "reconnecting";
});

// On every connection, the server sends the whole drawing: start over from it.
socket.on("init", ({ strokes }) => {
  board.strokes.clear();
  for (const s of strokes) board.strokes.set(s.id, s);
  redraw();
  document.body.dataset.initialized = "true";
});

socket.on("stroke", (s) => {
  if (board.strokes.has(s.id)) return;
  board.strokes.set(s.id, s);
  drawStroke(s);
});

socket.on("clear", () => {
  board.strokes.clear();
  redraw();
});

// ---- drawing ----------------------------------------------------------------

function drawStroke({ color, width, points }) {
  ctx.strokeStyle = color;
  ctx.lineWidth = width;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.beginPath();
  points.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
  if (points.length === 1) ctx.lineTo(points[0][0] + 0.1, points[0][1]);
  ctx.stroke();
}

function redraw() {
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  for (const s of board.strokes.values()) drawStroke(s);
}

// Pointer position in board units (the canvas may be scaled by CSS).
function at(e) {
  const r = canvas.getBoundingClientRect();
  const x = ((e.clientX - r.left) / r.width) * canvas.width;
  const y = ((e.clientY - r.top) / r.height) * canvas.height;
  return [Math.max(0, Math.min(canvas.width, x)), Math.max(0, Math.min(canvas.height, y))];
}

let current = null; // the stroke being drawn

canvas.addEventListener("pointerdown", (e) => {
  canvas.setPointerCapture(e.pointerId);
  current = { color: $("color").value, width: Number($("width").value), points: [at(e)] };
});

canvas.addEventListener("pointermove", (e) => {
  const p = at(e);
  sendCursor(p);
  if (!current) return;
  current.points.push(p);
  // Draw the new segment locally at once.
  const pts = current.points.slice(-2);
  drawStroke({ ...current, points: pts });
});

canvas.addEventListener("pointerup", async () => {
  const s = current;
  current = null;
  if (!s) return;
  try {
    s.id = await socket.timeout(5000).emitWithAck("stroke", s);
    board.strokes.set(s.id, s);
  } catch {
    redraw(); // refused or lost: take it off the canvas
  }
});

$("clear").addEventListener("click", () => {
  board.strokes.clear();
  redraw();
  socket.emit("clear");
});

// ---- cursors ------------------------------------------------------------------

// At most one cursor update per animation frame, sent volatile: a position
// that cannot be sent at once is not worth sending later, the next one
// makes up for it. Except for the last one: when the pointer rests, its
// position is sent once more, reliably, or the others could see the
// cursor stuck where a dropped update left it.
const CURSOR_REST_MS = 150;
let pendingCursor = null;
let restTimer;
function sendCursor(p) {
  if (pendingCursor === null) {
    requestAnimationFrame(() => {
      socket.volatile.emit("cursor", { x: pendingCursor[0], y: pendingCursor[1] });
      pendingCursor = null;
    });
  }
  pendingCursor = p;
  clearTimeout(restTimer);
  restTimer = setTimeout(() => socket.emit("cursor", { x: p[0], y: p[1], rest: true }), CURSOR_REST_MS);
}

socket.on("cursor", ({ id, x, y }) => {
  let el = board.cursors.get(id);
  if (!el) {
    el = document.createElement("div");
    el.className = "cursor";
    el.dataset.testid = "cursor";
    el.dataset.id = id;
    $("board").append(el);
    board.cursors.set(id, el);
    renderPeers();
  }
  // Percentages: the board scales with the window.
  el.style.left = `${(x / canvas.width) * 100}%`;
  el.style.top = `${(y / canvas.height) * 100}%`;
  el.dataset.x = String(Math.round(x));
  el.dataset.y = String(Math.round(y));
});

socket.on("gone", (id) => {
  board.cursors.get(id)?.remove();
  board.cursors.delete(id);
  renderPeers();
});

function renderPeers() {
  const n = board.cursors.size;
  $("peers").textContent = n === 0 ? "" : `${n} other ${n === 1 ? "person" : "people"} drawing`;
}
