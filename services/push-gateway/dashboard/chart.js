// The chart of one game's market: the last 60 minutes from the read API's per-minute
// candles, then extended live by odds frames.
//
// What is plotted: the implied probability of home, away (and draw) rather than the
// raw odds. American odds jump from -100 to +100 as a price crosses evens, and the
// feed mixes American and decimal providers; probabilities are continuous, share one
// 0..100% axis and compare across formats.
//
// One point per minute per side, at the minute's last price: candles are per market
// over every provider, so the live tail follows the same rule (the newest price of
// any provider moves the current minute's point) instead of zig-zagging between
// providers tick by tick.

import { apiHeaders } from "./api.js";
import { formatPercent, guessOddsFormat, impliedProbability, isNumber, toEpochMillis } from "./format.js";

const HISTORY_MINUTES = 60;
const MAX_HISTORY_PAGES = 5; // 60 one-minute candles fit one page; this only guards the loop
const SERIES = [
  { key: "home", label: "Home", stroke: "#3fb6ff" },
  { key: "away", label: "Away", stroke: "#ffb347" },
  { key: "draw", label: "Draw", stroke: "#c792ea" },
];

// The candles of a read-API answer, or null when the answer is not the expected shape.
export function candlesOf(body) {
  return body && typeof body === "object" && Array.isArray(body.candles) ? body.candles : null;
}

const minuteOf = (millis) => Math.floor(millis / 60_000);

export class ChartPanel {
  #panel;
  #title;
  #status;
  #markets;
  #plotArea;
  #oddsFormatOf;
  #marketsOf;
  #onChoose;
  #plot = null;
  #gameId = null;
  #market = null;
  #points = new Map(); // minute -> { x (epoch s), home, away, draw }
  #history = "none"; // loading | loaded | none
  #liveUpdates = 0;
  #request = null;
  #frameRequested = false;

  // oddsFormatOf(gameId, market) and marketsOf(gameId) come from the board;
  // onChoose(gameId, market) when the analyst picks another market or closes (null).
  constructor({ panel, oddsFormatOf, marketsOf, onChoose }) {
    this.#panel = panel;
    this.#title = panel.querySelector("#chart-title");
    this.#status = panel.querySelector("#chart-status");
    this.#markets = panel.querySelector("#chart-markets");
    this.#plotArea = panel.querySelector("#chart-plot");
    this.#oddsFormatOf = oddsFormatOf;
    this.#marketsOf = marketsOf;
    this.#onChoose = onChoose;
    panel.querySelector("#chart-close").addEventListener("click", () => this.close());
    this.#markets.addEventListener("click", (event) => {
      const market = event.target.closest("button[data-market]")?.dataset.market;
      if (market && this.#gameId) this.#onChoose(this.#gameId, market);
    });
    new ResizeObserver(() => this.#fitPlot()).observe(this.#plotArea);
  }

  // Read-only state for tests and the console.
  get state() {
    return {
      gameId: this.#gameId, market: this.#market, history: this.#history,
      points: this.#points.size, liveUpdates: this.#liveUpdates,
    };
  }

  // latest: the board's newest price of the market (frame-shaped) or null, so the
  // chart has a point at once, before history and the next update.
  open(gameId, market, title, latest) {
    this.#request?.abort();
    this.#gameId = gameId;
    this.#market = market;
    this.#points = new Map();
    this.#liveUpdates = 0;
    this.#panel.hidden = false;
    this.#panel.dataset.game = gameId;
    this.#panel.dataset.market = market;
    this.retitle(title);
    this.#renderMarketChoice();
    this.#createPlot();
    if (latest) this.#putFrame(latest);
    this.#loadHistory(gameId, market);
  }

  close() {
    this.#request?.abort();
    this.#plot?.destroy();
    this.#plot = null;
    this.#gameId = null;
    this.#market = null;
    this.#points = new Map();
    this.#panel.hidden = true;
    this.#onChoose(null, null);
  }

  retitle(title) {
    if (this.#gameId) this.#title.textContent = `${title} \u00b7 ${this.#market}`;
  }

  // Every applied odds frame passes here; only the charted game and market count.
  addLive(frame) {
    if (frame.gameId !== this.#gameId || frame.market !== this.#market) return;
    this.#liveUpdates += 1;
    this.#putFrame(frame);
  }

  #putFrame(frame) {
    const format = frame.oddsFormat;
    this.#put(toEpochMillis(frame.ts) ?? Date.now(), {
      home: impliedProbability(frame.homeOdds, format),
      away: impliedProbability(frame.awayOdds, format),
      draw: impliedProbability(frame.drawOdds, format),
    }, true);
    this.#requestFrame();
  }

  // Live prices win over a candle of the same minute: they are at least as new.
  #put(millis, sides, live) {
    const minute = minuteOf(millis);
    if (!live && this.#points.has(minute)) return;
    if (!isNumber(sides.home) && !isNumber(sides.away) && !isNumber(sides.draw)) return;
    this.#points.set(minute, { x: millis / 1000, ...sides });
    // The window ends at the newest point, not at this browser's clock, which may be off.
    const oldest = Math.max(...this.#points.keys()) - HISTORY_MINUTES;
    for (const key of this.#points.keys()) if (key < oldest) this.#points.delete(key);
  }

  async #loadHistory(gameId, market) {
    const request = new AbortController();
    this.#request = request;
    this.#setHistory("loading");
    const to = new Date();
    const from = new Date(to.getTime() - HISTORY_MINUTES * 60_000);
    const format = this.#oddsFormatOf(gameId, market);
    let candles = [];
    try {
      let cursor = null;
      for (let page = 0; page < MAX_HISTORY_PAGES; page += 1) {
        const query = new URLSearchParams({ market, from: from.toISOString(), to: to.toISOString() });
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
    let added = 0;
    for (const candle of candles) {
      const start = toEpochMillis(candle?.minute);
      if (start === null) continue;
      const close = (side) => (isNumber(candle?.[side]?.close) ? candle[side].close : null);
      const sideFormat = format ?? guessOddsFormat(close("home") ?? close("away"));
      // A candle's close is its minute's last price: plot it at the minute's end.
      const before = this.#points.size;
      this.#put(Math.min(start + 59_000, Date.now()), {
        home: impliedProbability(close("home"), sideFormat),
        away: impliedProbability(close("away"), sideFormat),
        draw: impliedProbability(close("draw"), sideFormat),
      }, false);
      added += this.#points.size - before;
    }
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

  #renderMarketChoice() {
    const buttons = this.#marketsOf(this.#gameId).map((market) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.market = market;
      button.textContent = market;
      button.classList.toggle("active", market === this.#market);
      return button;
    });
    this.#markets.replaceChildren(...buttons);
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
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      scales: { x: { time: true }, y: { auto: true } },
      axes: [axis, { ...axis, size: 52, values: (_, ticks) => ticks.map((tick) => formatPercent(tick)) }],
      series: [
        {},
        ...SERIES.map(({ label, stroke }) => ({
          label, stroke, width: 1.5, spanGaps: true, points: { size: 4 }, value: (_, value) => formatPercent(value),
        })),
      ],
    };
    this.#plot = new uPlot(options, this.#data(), this.#plotArea);
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

  #data() {
    const ordered = [...this.#points.entries()].sort((a, b) => a[0] - b[0]).map(([, point]) => point);
    return [ordered.map((point) => point.x), ...SERIES.map(({ key }) => ordered.map((point) => point[key]))];
  }

  #requestFrame() {
    if (this.#frameRequested) return;
    this.#frameRequested = true;
    requestAnimationFrame(() => {
      this.#frameRequested = false;
      this.#panel.dataset.points = String(this.#points.size);
      this.#plot?.setData(this.#data());
    });
  }
}
