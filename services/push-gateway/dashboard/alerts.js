// The alerts panel: newest first, the last 200. Alerts are never conflated by the
// gateway, so a burst can be large: they are queued and written once per frame.

import { formatClock } from "./format.js";

export const MAX_ALERTS = 200;
const SEVERITIES = new Set(["info", "warning", "critical"]);

export class AlertsPanel {
  #list;
  #count;
  #nameOf;
  #pending = []; // oldest first
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
    const fragment = document.createDocumentFragment();
    for (let index = this.#pending.length - 1; index >= 0; index -= 1) {
      fragment.append(this.#item(this.#pending[index]));
    }
    this.#pending = [];
    this.#list.prepend(fragment);
    while (this.#list.childElementCount > MAX_ALERTS) this.#list.lastElementChild.remove();
    this.#count.textContent = String(this.#list.childElementCount);
  }

  #item(alert) {
    const severity = SEVERITIES.has(alert.severity) ? alert.severity : "warning";
    const kind = typeof alert.kind === "string" ? alert.kind : "alert";
    const item = document.createElement("li");
    item.className = `alert severity-${severity}`;
    item.dataset.severity = severity;
    item.dataset.kind = kind;
    if (typeof alert.gameId === "string") item.dataset.game = alert.gameId;
    if (typeof alert.provider === "string") item.dataset.provider = alert.provider;

    const where = [];
    if (typeof alert.gameId === "string") where.push(this.#nameOf(alert.gameId) ?? alert.gameId);
    if (typeof alert.provider === "string") where.push(alert.provider);
    const parts = [
      ["alert-time", formatClock(alert.at) || formatClock(Date.now())],
      ["alert-kind", kind.replaceAll("_", " ")],
      ["alert-where", where.join(" \u00b7 ")],
      ["alert-message", typeof alert.message === "string" ? alert.message : ""],
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
