// The ticker page. Plain JavaScript, no build step; `io` comes from
// /socket.io/socket.io.min.js, the official browser client.
"use strict";

const SYMBOLS = ["ACME", "BOLT", "CHIP", "DYNA"];
const MAX_POINTS = 60; // per chart

const $ = (id) => document.getElementById(id);
const charts = new Map(); // symbol -> {card, points: [{price, time}]}

// Every tick this page received, for the browser test: [{symbol, price, trade}].
window.tickLog = [];

const socket = io({ reconnectionDelayMax: 2000 });

function setStatus(state) {
  $("status").dataset.state = state;
  $("status").textContent = state;
}
socket.on("connect", () => {
  setStatus("connected");
  // Rooms do not survive a new connection: subscribe again.
  for (const sym of charts.keys()) subscribe(sym, true);
});
socket.on("disconnect", () => setStatus("reconnecting"));

// ---- subscriptions ---------------------------------------------------------

for (const sym of SYMBOLS) {
  const label = document.createElement("label");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.dataset.testid = `toggle-${sym}`;
  box.addEventListener("change", () => (box.checked ? subscribe(sym) : unsubscribe(sym)));
  label.append(box, document.createTextNode(" " + sym));
  $("symbols").append(label);
}

async function subscribe(sym, again = false) {
  if (!again) addCard(sym);
  const res = await socket.timeout(5000).emitWithAck("subscribe", sym);
  if (res.error) throw new Error(res.error);
  const chart = charts.get(sym);
  if (!chart) return; // unsubscribed meanwhile
  // The history and the live ticks may overlap by one: merge by time.
  const seen = new Set(chart.points.map((p) => p.time));
  chart.points = [...res.history.filter((t) => !seen.has(t.time)), ...chart.points]
    .sort((a, b) => (a.time < b.time ? -1 : 1))
    .slice(-MAX_POINTS);
  draw(sym);
}

async function unsubscribe(sym) {
  charts.get(sym)?.card.remove();
  charts.delete(sym);
  await socket.timeout(5000).emitWithAck("unsubscribe", sym);
  // From here on, the server sends no tick of sym to this page.
  document.body.dataset[`unsubscribed${sym}`] = String(window.tickLog.length);
}

// ---- ticks -------------------------------------------------------------------

socket.on("tick", (t) => {
  window.tickLog.push({ symbol: t.symbol, price: t.price, trade: t.trade || "" });
  const chart = charts.get(t.symbol);
  if (!chart) return;
  chart.points.push(t);
  if (chart.points.length > MAX_POINTS) chart.points.shift();
  if (t.trade) chart.card.querySelector(".last-trade").textContent = `someone ${t.trade === "buy" ? "bought" : "sold"} at ${t.price.toFixed(2)}`;
  draw(t.symbol);
});

function addCard(sym) {
  const card = $("card-template").content.firstElementChild.cloneNode(true);
  card.dataset.symbol = sym;
  card.querySelector(".symbol").textContent = sym;
  for (const side of ["buy", "sell"]) {
    card.querySelector(`.${side}`).addEventListener("click", () => {
      socket.timeout(5000).emitWithAck("trade", { symbol: sym, side }).catch(() => {});
    });
  }
  $("cards").append(card);
  charts.set(sym, { card, points: [] });
}

// draw renders a chart on its canvas: a line through the prices, scaled to
// their range, and the last price in the header.
function draw(sym) {
  const { card, points } = charts.get(sym);
  if (points.length === 0) return;
  const last = points[points.length - 1];
  const first = points[0];
  card.querySelector(".price").textContent = last.price.toFixed(2);
  const change = ((last.price - first.price) / first.price) * 100;
  const changeEl = card.querySelector(".change");
  changeEl.textContent = `${change >= 0 ? "+" : ""}${change.toFixed(2)}%`;
  changeEl.dataset.dir = change >= 0 ? "up" : "down";

  const canvas = card.querySelector("canvas");
  const ctx = canvas.getContext("2d");
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  const prices = points.map((p) => p.price);
  const lo = Math.min(...prices);
  const hi = Math.max(...prices);
  const span = hi - lo || 1;
  const x = (i) => (i / (MAX_POINTS - 1)) * (w - 8) + 4;
  const y = (p) => h - 6 - ((p - lo) / span) * (h - 12);

  ctx.strokeStyle = "#e5e7eb";
  ctx.lineWidth = 1;
  for (let i = 1; i < 4; i++) {
    ctx.beginPath();
    ctx.moveTo(0, (h / 4) * i);
    ctx.lineTo(w, (h / 4) * i);
    ctx.stroke();
  }
  ctx.strokeStyle = change >= 0 ? "#16a34a" : "#dc2626";
  ctx.lineWidth = 2;
  ctx.beginPath();
  prices.forEach((p, i) => (i === 0 ? ctx.moveTo(x(i), y(p)) : ctx.lineTo(x(i), y(p))));
  ctx.stroke();
  // Trades as dots.
  points.forEach((p, i) => {
    if (!p.trade) return;
    ctx.fillStyle = p.trade === "buy" ? "#2563eb" : "#f59e0b";
    ctx.beginPath();
    ctx.arc(x(i), y(p.price), 4, 0, 2 * Math.PI);
    ctx.fill();
  });
}
