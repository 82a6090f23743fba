// The charted game's updates per minute (the last hour) or per hour (the last two days), as bars,
// from the read API's exact counts (GET /api/v1/games/<id>/counts): each update once, late ones in
// the minute they belong to. Read when the chart opens and when the resolution changes.

import { apiHeaders } from "./api.js";
import { formatCount } from "./format.js";

const SPANS = Object.freeze({ minute: 60 * 60_000, hour: 47 * 60 * 60_000 }); // within the API's 48 hours
const PERIOD_MS = Object.freeze({ minute: 60_000, hour: 60 * 60_000 });

export class CountsChart {
  #plot;
  #total;
  #buttons;
  #gameId = null;
  #resolution = "minute";
  #request = null;

  constructor(container) {
    this.#plot = container.querySelector("#counts-plot");
    this.#total = container.querySelector("#counts-total");
    this.#buttons = [...container.querySelectorAll("button[data-resolution]")];
    for (const button of this.#buttons) {
      button.addEventListener("click", () => {
        this.#resolution = button.dataset.resolution;
        if (this.#gameId) this.#load();
      });
    }
  }

  open(gameId) {
    this.#gameId = gameId;
    this.#load();
  }

  close() {
    this.#request?.abort();
    this.#gameId = null;
  }

  async #load() {
    this.#request?.abort();
    const request = new AbortController();
    this.#request = request;
    const resolution = this.#resolution;
    for (const button of this.#buttons) button.setAttribute("aria-pressed", String(button.dataset.resolution === resolution));
    const to = new Date();
    const from = new Date(to.getTime() - SPANS[resolution]);
    const query = new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), resolution });
    this.#plot.dataset.state = "loading";
    try {
      const response = await fetch(`/api/v1/games/${encodeURIComponent(this.#gameId)}/counts?${query}`, {
        headers: apiHeaders(), signal: request.signal,
      });
      const body = response.ok ? await response.json() : null;
      if (request.signal.aborted) return;
      this.#render(Array.isArray(body?.counts) ? body.counts : [], resolution, from, to);
    } catch (error) {
      if (error?.name !== "AbortError") this.#render([], resolution, from, to);
    }
  }

  // One bar per period of the span, empty periods included, so the bars keep their time axis.
  #render(counts, resolution, from, to) {
    const period = PERIOD_MS[resolution];
    const byStart = new Map();
    for (const { start, count } of counts) {
      const at = Date.parse(start);
      if (Number.isFinite(at) && Number.isInteger(count)) byStart.set(Math.floor(at / period) * period, count);
    }
    const first = Math.floor(from.getTime() / period) * period;
    const bars = [];
    for (let at = first; at <= to.getTime(); at += period) bars.push([at, byStart.get(at) ?? 0]);
    const highest = Math.max(1, ...bars.map(([, count]) => count));
    const fragment = document.createDocumentFragment();
    for (const [at, count] of bars) {
      const bar = document.createElement("div");
      bar.className = "counts-bar-item";
      bar.style.height = `${Math.round((count / highest) * 100)}%`;
      bar.dataset.count = String(count);
      bar.title = `${new Date(at).toISOString().slice(0, 16).replace("T", " ")}Z: ${formatCount(count)}`;
      fragment.append(bar);
    }
    this.#plot.replaceChildren(fragment);
    const total = bars.reduce((sum, [, count]) => sum + count, 0);
    this.#plot.dataset.resolution = resolution;
    this.#plot.dataset.periods = String(bars.filter(([, count]) => count > 0).length);
    this.#plot.dataset.total = String(total);
    this.#plot.dataset.state = "loaded";
    this.#total.textContent = `${formatCount(total)} ${resolution === "hour" ? "in 47 h" : "in the last hour"}`;
  }
}
