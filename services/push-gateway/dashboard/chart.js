// The chart of one provider's prices of one market of a game: true per-minute candles
// (open, high, low, close) of each side's implied probability, the last 60 minutes from
// the read API, then extended live by odds frames. One provider at a time, chosen on
// screen: providers quote with different margins, and a candle merged across them would
// show a range none of them ever quoted.
//
// Each minute holds a candle per side, side by side: a filled body is a minute that
// closed above its open (the side grew likelier), a hollow one a minute that closed
// below; the wick spans the minute's extremes.

import { apiHeaders } from "./api.js";
import { SIDES, foldLive, fromApiCandle, mergeStored, minuteOf } from "./candles.js";
import { formatPercent, impliedProbability, isNumber, toEpochMillis } from "./format.js";

const HISTORY_MINUTES = 60;
const MAX_HISTORY_PAGES = 5; // 60 one-minute candles fit one page; this only guards the loop
const STROKES = { home: "#3fb6ff", away: "#ffb347", draw: "#c792ea" };
const LABELS = { home: "Home", away: "Away", draw: "Draw" };

// The candles of a read-API answer, or null when the answer is not the expected shape.
export function candlesOf(body) {
  return body && typeof body === "object" && Array.isArray(body.candles) ? body.candles : null;
}

// uPlot draws the axes, the grid and the legend; the candles are drawn on its canvas
// after it (its series have no paths of their own and only carry the closes for the legend).
function drawCandles(u, candles) {
  const visible = SIDES.filter((side, index) => u.series[index + 1].show && candles.some((c) => c[side]));
  if (visible.length === 0) return;
  const { ctx, bbox } = u;
  const ratio = window.devicePixelRatio || 1;
  const minutePx = Math.abs(u.valToPos(60, "x", true) - u.valToPos(0, "x", true));
  const slot = (minutePx * 0.9) / visible.length;
  const body = Math.max(1, Math.min(slot * 0.7, 10 * ratio));
  ctx.save();
  ctx.beginPath();
  ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
  ctx.clip();
  ctx.lineWidth = Math.max(1, ratio);
  for (const candle of candles) {
    const center = u.valToPos(candle.minute * 60 + 30, "x", true);
    visible.forEach((side, index) => {
      const price = candle[side];
      if (!price) return;
      const x = Math.round(center + (index - (visible.length - 1) / 2) * slot);
      const [high, low, open, close] = [price.high, price.low, price.open, price.close].map(
        (value) => u.valToPos(value, "y", true));
      ctx.strokeStyle = STROKES[side];
      ctx.fillStyle = STROKES[side];
      ctx.beginPath();
      ctx.moveTo(x + 0.5, high);
      ctx.lineTo(x + 0.5, low);
      ctx.stroke();
      const top = Math.min(open, close);
      const height = Math.max(ratio, Math.abs(open - close));
      if (price.close >= price.open) ctx.fillRect(x - body / 2, top, body, height);
      else {
        ctx.fillStyle = "#0d1117";
        ctx.fillRect(x - body / 2, top, body, height);
        ctx.strokeRect(x - body / 2 + 0.5, top + 0.5, body - 1, Math.max(0, height - 1));
      }
    });
  }
  ctx.restore();
}

export class ChartPanel {
  #panel;
  #title;
  #status;
  #markets;
  #providers;
  #plotArea;
  #board;
  #onChoose;
  #plot = null;
  #gameId = null;
  #market = null;
  #provider = null;
  #candles = new Map(); // minute -> { minute, home, away, draw } (probability candles)
  #history = "none"; // loading | loaded | none
  #liveUpdates = 0;
  #request = null;
  #frameRequested = false;

  // board: oddsFormatOf(gameId, market, provider), marketsOf(gameId), providersOf(gameId, market);
  // onChoose(gameId, market, provider) when the analyst picks another market or provider, or closes (nulls).
  constructor({ panel, board, onChoose }) {
    this.#panel = panel;
    this.#title = panel.querySelector("#chart-title");
    this.#status = panel.querySelector("#chart-status");
    this.#markets = panel.querySelector("#chart-markets");
    this.#providers = panel.querySelector("#chart-providers");
    this.#plotArea = panel.querySelector("#chart-plot");
    this.#board = board;
    this.#onChoose = onChoose;
    panel.querySelector("#chart-close").addEventListener("click", () => this.close());
    this.#markets.addEventListener("click", (event) => {
      const market = event.target.closest("button[data-market]")?.dataset.market;
      if (market && this.#gameId) this.#onChoose(this.#gameId, market, this.#provider);
    });
    this.#providers.addEventListener("click", (event) => {
      const provider = event.target.closest("button[data-provider]")?.dataset.provider;
      if (provider && this.#gameId) this.#onChoose(this.#gameId, this.#market, provider);
    });
    new ResizeObserver(() => this.#fitPlot()).observe(this.#plotArea);
  }

  // Read-only state for tests and the console: the candles oldest first.
  get state() {
    return {
      gameId: this.#gameId, market: this.#market, provider: this.#provider, history: this.#history,
      points: this.#candles.size, liveUpdates: this.#liveUpdates, candles: this.#ordered(),
    };
  }

  // latest: the board's newest price of the market from the provider (frame-shaped) or null, so
  // the chart has a candle at once, before history and the next update.
  open(gameId, market, provider, title, latest) {
    this.#request?.abort();
    this.#gameId = gameId;
    this.#market = market;
    this.#provider = provider;
    this.#candles = new Map();
    this.#liveUpdates = 0;
    this.#panel.hidden = false;
    Object.assign(this.#panel.dataset, { game: gameId, market, provider });
    this.retitle(title);
    this.renderChoices();
    this.#createPlot();
    if (latest) this.#putFrame(latest);
    this.#loadHistory(gameId, market, provider);
  }

  close() {
    this.#request?.abort();
    this.#plot?.destroy();
    this.#plot = null;
    this.#gameId = null;
    this.#market = null;
    this.#provider = null;
    this.#candles = new Map();
    this.#panel.hidden = true;
    this.#onChoose(null, null, null);
  }

  retitle(title) {
    if (this.#gameId) this.#title.textContent = `${title} \u00b7 ${this.#market}`;
  }

  // Every applied odds frame passes here; only the charted game, market and provider count.
  addLive(frame) {
    if (frame.gameId !== this.#gameId || frame.market !== this.#market) return;
    if (frame.provider !== this.#provider) {
      if (!this.#providers.querySelector(`button[data-provider="${CSS.escape(frame.provider)}"]`)) {
        this.renderChoices(); // a provider new to this market: it can be chosen at once
      }
      return;
    }
    this.#liveUpdates += 1;
    this.#putFrame(frame);
  }

  #putFrame(frame) {
    const format = frame.oddsFormat;
    const minute = minuteOf(toEpochMillis(frame.ts) ?? Date.now());
    this.#candles.set(minute, foldLive(this.#candles.get(minute), minute, {
      home: impliedProbability(frame.homeOdds, format),
      away: impliedProbability(frame.awayOdds, format),
      draw: impliedProbability(frame.drawOdds, format),
    }));
    this.#trim();
    this.#requestFrame();
  }

  // The window ends at the newest candle, not at this browser's clock, which may be off.
  #trim() {
    const oldest = Math.max(...this.#candles.keys()) - HISTORY_MINUTES;
    for (const minute of this.#candles.keys()) if (minute < oldest) this.#candles.delete(minute);
  }

  async #loadHistory(gameId, market, provider) {
    const request = new AbortController();
    this.#request = request;
    this.#setHistory("loading");
    const to = new Date();
    const from = new Date(to.getTime() - HISTORY_MINUTES * 60_000);
    let candles = [];
    try {
      let cursor = null;
      for (let page = 0; page < MAX_HISTORY_PAGES; page += 1) {
        const query = new URLSearchParams({ market, provider, from: from.toISOString(), to: to.toISOString() });
        if (cursor) query.set("cursor", cursor);
        const response = await fetch(`/api/v1/games/${encodeURIComponent(gameId)}/candles?${query}`, {
          headers: apiHeaders(), signal: request.signal,
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const body = await response.json();
        const pageCandles = candlesOf(body);
        if (!pageCandles) throw new Error("unexpected answer");
        candles = candles.concat(pageCandles);
        cursor = typeof body.nextCursor === "string" && body.nextCursor ? body.nextCursor : null;
        if (!cursor) break;
      }
    } catch {
      if (request.signal.aborted) return;
      candles = [];
    }
    if (request.signal.aborted) return;
    const format = this.#board.oddsFormatOf(gameId, market, provider);
    let added = 0;
    for (const candle of candles) {
      const stored = fromApiCandle(candle, format);
      if (!stored) continue;
      this.#candles.set(stored.minute, mergeStored(stored, this.#candles.get(stored.minute)));
      added += 1;
    }
    if (this.#candles.size > 0) this.#trim();
    this.#setHistory(added > 0 ? "loaded" : "none");
    this.#requestFrame();
  }

  #setHistory(history) {
    this.#history = history;
    this.#panel.dataset.history = history;
    this.#status.textContent = {
      loading: "loading history\u2026",
      loaded: `last ${HISTORY_MINUTES} min + live`,
      none: "no history \u00b7 live only",
    }[history];
  }

  // The market and provider buttons: every market of the game, every provider of the market.
  renderChoices() {
    if (!this.#gameId) return;
    const buttons = (values, key, active) => values.map((value) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset[key] = value;
      button.textContent = value;
      button.classList.toggle("active", value === active);
      button.setAttribute("aria-pressed", String(value === active));
      return button;
    });
    this.#markets.replaceChildren(...buttons(this.#board.marketsOf(this.#gameId), "market", this.#market));
    this.#providers.replaceChildren(
      ...buttons(this.#board.providersOf(this.#gameId, this.#market), "provider", this.#provider));
  }

  #createPlot() {
    this.#plot?.destroy();
    this.#plot = null;
    this.#plotArea.replaceChildren();
    const uPlot = window.uPlot;
    if (typeof uPlot !== "function") {
      this.#plotArea.textContent = "chart library not loaded";
      return;
    }
    const axis = { stroke: "#8b95a7", grid: { stroke: "#1c2330", width: 1 }, ticks: { stroke: "#2a3342", width: 1 } };
    const options = {
      ...this.#size(),
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      legend: { live: true },
      scales: { x: { time: true, range: (_, min, max) => this.#xRange(min, max) }, y: { range: () => this.#yRange() } },
      axes: [axis, { ...axis, size: 52, values: (_, ticks) => ticks.map((tick) => formatPercent(tick)) }],
      series: [
        {},
        ...SIDES.map((side) => ({
          label: LABELS[side], stroke: STROKES[side], paths: () => null, points: { show: false },
          value: (_, value) => formatPercent(value),
        })),
      ],
      hooks: { draw: [(u) => drawCandles(u, this.#ordered())] },
    };
    this.#plot = new uPlot(options, this.#data(), this.#plotArea);
  }

  // Half a minute of room either side, so the first and last candles are whole.
  #xRange(min, max) {
    if (!isNumber(min) || !isNumber(max)) return [Date.now() / 1000 - 3600, Date.now() / 1000];
    return [min - 60, max + 60];
  }

  // The lows and highs of every candle in view, with a little room.
  #yRange() {
    let [low, high] = [Infinity, -Infinity];
    for (const candle of this.#candles.values()) {
      for (const side of SIDES) {
        if (!candle[side]) continue;
        low = Math.min(low, candle[side].low);
        high = Math.max(high, candle[side].high);
      }
    }
    if (!Number.isFinite(low)) return [0, 1];
    const room = Math.max(0.005, (high - low) * 0.08);
    return [Math.max(0, low - room), Math.min(1, high + room)];
  }

  #size() {
    const legendRoom = 34;
    return {
      width: Math.max(240, this.#plotArea.clientWidth),
      height: Math.max(140, this.#plotArea.clientHeight - legendRoom),
    };
  }

  #fitPlot() {
    if (this.#plot) this.#plot.setSize(this.#size());
  }

  #ordered() {
    return [...this.#candles.values()].sort((a, b) => a.minute - b.minute);
  }

  #data() {
    const ordered = this.#ordered();
    return [
      ordered.map((candle) => candle.minute * 60 + 30),
      ...SIDES.map((side) => ordered.map((candle) => candle[side]?.close ?? null)),
    ];
  }

  #requestFrame() {
    if (this.#frameRequested) return;
    this.#frameRequested = true;
    requestAnimationFrame(() => {
      this.#frameRequested = false;
      this.#panel.dataset.points = String(this.#candles.size);
      this.#plot?.setData(this.#data());
    });
  }
}
