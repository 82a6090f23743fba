// The alerts panel: newest first, the last 200 lines. Alerts are never conflated by the
// gateway, so a burst can be large: they are queued and written once per frame. Movements of
// one market (game, provider, market) fold into one line, moved to the top, with how many
// there were and the latest move: a restless market must not drown the other alerts.

import { formatClock } from "./format.js";

export const MAX_ALERTS = 200;
const SEVERITIES = new Set(["info", "warning", "critical"]);

export class AlertsPanel {
  #list;
  #count;
  #nameOf;
  #pending = []; // oldest first
  #folded = new Map(); // fold key -> its line in the list
  #total = 0;
  #frameRequested = false;

  // nameOf(gameId) -> a readable game name, or null.
  constructor({ list, count, nameOf }) {
    this.#list = list;
    this.#count = count;
    this.#nameOf = nameOf;
  }

  get total() {
    return this.#total;
  }

  add(alert) {
    this.#total += 1;
    this.#pending.push(alert);
    // A hidden tab gets no animation frames: keep only what could ever be shown.
    if (this.#pending.length > MAX_ALERTS) this.#pending.splice(0, this.#pending.length - MAX_ALERTS);
    if (!this.#frameRequested) {
      this.#frameRequested = true;
      requestAnimationFrame(() => this.#render());
    }
  }

  #render() {
    this.#frameRequested = false;
    for (const alert of this.#pending) {
      const key = foldKey(alert);
      const line = key === null ? undefined : this.#folded.get(key);
      if (line) {
        const repeats = Number(line.dataset.repeats) + 1;
        const fresh = this.#item(alert, repeats);
        line.replaceWith(fresh);
        this.#folded.set(key, fresh);
        this.#list.prepend(fresh);
        continue;
      }
      const item = this.#item(alert, 1);
      if (key !== null) {
        item.dataset.fold = key;
        this.#folded.set(key, item);
      }
      this.#list.prepend(item);
    }
    this.#pending = [];
    while (this.#list.childElementCount > MAX_ALERTS) {
      const last = this.#list.lastElementChild;
      if (last.dataset.fold && this.#folded.get(last.dataset.fold) === last) this.#folded.delete(last.dataset.fold);
      last.remove();
    }
    this.#count.textContent = String(this.#list.childElementCount);
  }

  #item(alert, repeats) {
    const severity = SEVERITIES.has(alert.severity) ? alert.severity : "warning";
    const kind = typeof alert.kind === "string" ? alert.kind : "alert";
    const item = document.createElement("li");
    item.className = `alert severity-${severity}`;
    item.dataset.severity = severity;
    item.dataset.kind = kind;
    if (typeof alert.gameId === "string") item.dataset.game = alert.gameId;
    if (typeof alert.provider === "string") item.dataset.provider = alert.provider;
    item.dataset.repeats = String(repeats);
    const key = foldKey(alert);
    if (key !== null) item.dataset.fold = key;

    const where = [];
    if (typeof alert.gameId === "string") where.push(this.#nameOf(alert.gameId) ?? alert.gameId);
    if (typeof alert.provider === "string") where.push(alert.provider);
    const parts = [
      ["alert-time", formatClock(alert.at) || formatClock(Date.now())],
      ["alert-kind", kind.replaceAll("_", " ")],
      ["alert-where", where.join(" \u00b7 ")],
      ["alert-message", typeof alert.message === "string" ? alert.message : ""],
      ["alert-repeats", repeats > 1 ? `\u00d7${repeats}` : ""],
    ];
    for (const [className, text] of parts) {
      const span = document.createElement("span");
      span.className = className;
      span.textContent = text;
      item.append(span);
    }
    return item;
  }
}

// Movement alerts of one market fold together; every other alert has a line of its own.
function foldKey(alert) {
  const market = alert.details && typeof alert.details === "object" ? alert.details.market : undefined;
  if (alert.kind !== "movement" || typeof alert.gameId !== "string" || typeof market !== "string") return null;
  return JSON.stringify([alert.gameId, alert.provider ?? null, market]);
}
