// The live board: one <tbody data-game> per game (a header row, then one row per
// provider and market). Frames only change the model and mark rows dirty; one
// requestAnimationFrame pass writes the cells that changed, in place. At 1,000
// updates/s that is ~17 rows per frame, and a row that moved ten times between two
// frames is written once.

import {
  formatClock, formatLine, formatOdds, formatPercent, formatSigned, impliedProbability, isNumber, toEpochMillis,
} from "./format.js";

// Beyond this many market rows the game updated longest ago leaves the board (it
// comes back with its next update); the game shown in the chart always stays.
export const MAX_ROWS = 1500;

// Cell order of a market row; the header row of index.html follows it.
const COLUMNS = [
  "market", "provider", "status", "home", "homeOdds", "away", "awayOdds", "drawOdds",
  "impliedHome", "impliedAway", "impliedDraw", "change", "updated",
];
const NUMERIC_COLUMNS = new Set([
  "home", "homeOdds", "away", "awayOdds", "drawOdds", "impliedHome", "impliedAway", "impliedDraw", "change",
]);
// Short enough for a narrow column; the row's data-status keeps the exact word.
const STATUS_LABELS = { open: "", suspended: "susp", closed: "closed" };
// Lines and prices: these flash when they move.
const MOVING_FIELDS = ["home", "away", "homeOdds", "awayOdds", "drawOdds"];

const rowKey = (gameId, provider, market) => `${gameId}\u001f${provider}\u001f${market}`;
const numberOrNull = (value) => (isNumber(value) ? value : null);

// The board's view of one odds frame (or one market of a snapshot).
function marketValues(frame) {
  const format = frame.oddsFormat === "american" || frame.oddsFormat === "decimal" ? frame.oddsFormat : null;
  const implied = frame.implied && typeof frame.implied === "object" ? frame.implied : {};
  const probability = (given, odds) => (isNumber(given) ? given : impliedProbability(odds, format));
  return {
    home: numberOrNull(frame.home),
    away: numberOrNull(frame.away),
    homeOdds: numberOrNull(frame.homeOdds),
    awayOdds: numberOrNull(frame.awayOdds),
    drawOdds: numberOrNull(frame.drawOdds),
    oddsFormat: format,
    impliedHome: probability(implied.home, frame.homeOdds),
    impliedAway: probability(implied.away, frame.awayOdds),
    impliedDraw: probability(implied.draw, frame.drawOdds),
    change: frame.change && typeof frame.change === "object" ? frame.change : null,
    updatedAt: toEpochMillis(frame.ts) ?? toEpochMillis(frame.receivedAt) ?? Date.now(),
    status: typeof frame.status === "string" ? frame.status : "open",
    movement: frame.movement === true,
  };
}

function describeChange(change) {
  if (!change) return "";
  const parts = [];
  for (const [field, label] of [["homeOdds", "H"], ["awayOdds", "A"], ["drawOdds", "D"]]) {
    const text = formatSigned(change[field]);
    if (text) parts.push(`${label}${text}`);
  }
  return parts.join(" ");
}

function cellText(row, field) {
  const v = row.values;
  switch (field) {
    case "market": return row.market;
    case "provider": return row.provider;
    case "status": return row.providerDown ? "down" : (STATUS_LABELS[v.status] ?? v.status);
    case "home":
    case "away": return formatLine(v[field], row.market);
    case "homeOdds":
    case "awayOdds":
    case "drawOdds": return formatOdds(v[field], v.oddsFormat);
    case "impliedHome":
    case "impliedAway":
    case "impliedDraw": return formatPercent(v[field]);
    case "change": return describeChange(v.change);
    case "updated": return formatClock(v.updatedAt);
    default: return "";
  }
}

// Restarting a CSS animation normally needs a forced reflow; switching between two
// identical keyframes (phase a/b, see style.css) restarts it without one.
function replayAnimation(element, className) {
  element.dataset.phase = element.dataset.phase === "a" ? "b" : "a";
  element.classList.add(className);
}

export class Board {
  #table;
  #emptyNote;
  #detailsOf;
  #seqOf;
  #onSelect;
  #groups = new Map(); // gameId -> game group
  #rows = new Map(); // row key -> market row
  #staleGames = new Set();
  #resyncingGames = new Set(); // a gap seen, a fresh snapshot not yet had
  #downProviders = new Set();
  #dirtyRows = new Set();
  #dirtyGroups = new Set();
  #selectedGame = null;
  #frameRequested = false;

  // detailsOf(gameId) -> game details or null; seqOf(gameId) -> last seq;
  // onSelect(gameId, market, provider) when an analyst clicks a game (a row names its market and provider,
  // the game's header neither).
  constructor({ table, emptyNote, detailsOf, seqOf, onSelect }) {
    this.#table = table;
    this.#emptyNote = emptyNote;
    this.#detailsOf = detailsOf;
    this.#seqOf = seqOf;
    this.#onSelect = onSelect;
    table.addEventListener("click", (event) => this.#clicked(event.target));
    table.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" && event.key !== " ") return;
      event.preventDefault(); // a space would also scroll the board
      this.#clicked(event.target);
    });
    table.addEventListener("animationend", (event) => {
      if (event.animationName.startsWith("flash-")) event.target.classList.remove("flash-up", "flash-down");
    });
  }

  get rowCount() {
    return this.#rows.size;
  }

  get gameCount() {
    return this.#groups.size;
  }

  gameIds() {
    return [...this.#groups.keys()];
  }

  // The analyst stopped watching the game: its rows leave the board.
  removeGame(gameId) {
    const group = this.#groups.get(gameId);
    if (!group) return;
    this.#dropGroup(group);
    this.#staleGames.delete(gameId);
    this.#resyncingGames.delete(gameId);
    if (this.#groups.size === 0) this.#emptyNote.hidden = false;
  }

  marketsOf(gameId) {
    return [...new Set((this.#groups.get(gameId)?.rows ?? []).map((row) => row.market))];
  }

  providersOf(gameId, market) {
    return (this.#groups.get(gameId)?.rows ?? []).filter((row) => row.market === market).map((row) => row.provider);
  }

  oddsFormatOf(gameId, market, provider) {
    return this.#rows.get(rowKey(gameId, provider, market))?.values?.oddsFormat ?? null;
  }

  // A provider's newest price of a market, shaped like an odds frame (seeds the chart), or null.
  latestPrice(gameId, market, provider) {
    const values = this.#rows.get(rowKey(gameId, provider, market))?.values;
    if (!values) return null;
    const { homeOdds, awayOdds, drawOdds, oddsFormat, updatedAt } = values;
    return { gameId, market, provider, ts: updatedAt, homeOdds, awayOdds, drawOdds, oddsFormat };
  }

  // One odds frame, or one market of a snapshot.
  applyOdds(frame) {
    const { gameId, provider, market } = frame;
    if (typeof gameId !== "string" || typeof provider !== "string" || typeof market !== "string") return;
    const row = this.#rows.get(rowKey(gameId, provider, market)) ?? this.#addRow(gameId, provider, market);
    row.values = marketValues(frame);
    row.movedSignificantly = row.values.movement; // replayed once, at the next render
    row.group.lastUpdate = performance.now();
    this.#markRow(row);
    this.#markGroup(row.group);
  }

  // A game's details arrived (name, teams, sport).
  refreshGame(gameId) {
    const group = this.#groups.get(gameId);
    if (group) this.#markGroup(group);
  }

  setStale(gameId, stale) {
    if (stale) this.#staleGames.add(gameId);
    else this.#staleGames.delete(gameId);
    const group = this.#groups.get(gameId);
    if (group) this.#markGroup(group);
  }

  // A game enters resyncing on a gap (its own or the gateway's) and leaves it on a snapshot:
  // meanwhile its prices may be behind, and the board says so.
  // Whether it changed the game's state.
  setResyncing(gameId, resyncing) {
    if (resyncing === this.#resyncingGames.has(gameId)) return false;
    if (resyncing) this.#resyncingGames.add(gameId);
    else this.#resyncingGames.delete(gameId);
    const group = this.#groups.get(gameId);
    if (group) this.#markGroup(group);
    return true;
  }

  // live, stale or resyncing: what the game's prices are worth on screen.
  stateOf(gameId) {
    if (this.#resyncingGames.has(gameId)) return "resyncing";
    return this.#staleGames.has(gameId) ? "stale" : "live";
  }

  // marketStatus frames; without a provider they name every provider's row of the market.
  setMarketStatus(gameId, provider, market, status) {
    for (const row of this.#groups.get(gameId)?.rows ?? []) {
      if (row.market === market && (provider === undefined || provider === null || row.provider === provider)) {
        row.values = { ...row.values, status };
        this.#markRow(row);
      }
    }
  }

  setProviderDown(provider, down) {
    if (down) this.#downProviders.add(provider);
    else this.#downProviders.delete(provider);
    for (const row of this.#rows.values()) if (row.provider === provider) this.#markRow(row);
  }

  select(gameId) {
    const previous = this.#groups.get(this.#selectedGame);
    this.#selectedGame = gameId;
    previous?.body.classList.remove("selected");
    this.#groups.get(gameId)?.body.classList.add("selected");
  }

  #clicked(target) {
    const body = target.closest?.("tbody[data-game]");
    if (!body) return;
    const gameId = body.dataset.game;
    const row = target.closest("tr[data-market]");
    const market = row?.dataset.market ?? this.marketsOf(gameId)[0];
    if (market) this.#onSelect(gameId, market, row?.dataset.provider ?? this.providersOf(gameId, market)[0]);
  }

  #markRow(row) {
    this.#dirtyRows.add(row);
    this.#requestFrame();
  }

  #markGroup(group) {
    this.#dirtyGroups.add(group);
    this.#requestFrame();
  }

  #requestFrame() {
    if (this.#frameRequested) return;
    this.#frameRequested = true;
    requestAnimationFrame(() => this.#render());
  }

  #addGroup(gameId) {
    const body = document.createElement("tbody");
    body.className = "game";
    body.dataset.game = gameId;
    const header = body.insertRow();
    header.className = "game-header";
    header.tabIndex = 0;
    const cell = header.insertCell();
    cell.colSpan = COLUMNS.length;
    cell.innerHTML = `<span class="game-name"></span><span class="game-teams"></span>`
      + `<span class="game-sport"></span><span class="game-state"></span>`
      + `<span class="badge badge-stale">stale</span><span class="badge badge-resyncing">resyncing</span>`
      + `<span class="game-seq"></span>`;
    const group = {
      gameId,
      body,
      parts: {
        name: cell.querySelector(".game-name"),
        teams: cell.querySelector(".game-teams"),
        sport: cell.querySelector(".game-sport"),
        state: cell.querySelector(".game-state"),
        seq: cell.querySelector(".game-seq"),
      },
      rows: [],
      lastUpdate: performance.now(),
    };
    if (gameId === this.#selectedGame) body.classList.add("selected");
    this.#groups.set(gameId, group);
    this.#table.append(body);
    this.#emptyNote.hidden = true;
    return group;
  }

  #addRow(gameId, provider, market) {
    const group = this.#groups.get(gameId) ?? this.#addGroup(gameId);
    const element = document.createElement("tr");
    element.className = "market";
    Object.assign(element.dataset, { game: gameId, provider, market });
    const cells = {};
    for (const field of COLUMNS) {
      const cell = element.insertCell();
      cell.dataset.field = field;
      if (NUMERIC_COLUMNS.has(field)) cell.className = "num";
      cells[field] = cell;
    }
    const row = { key: rowKey(gameId, provider, market), gameId, provider, market, group, element, cells,
      values: null, shown: {}, shownValues: {}, providerDown: false, movedSignificantly: false };
    // Markets together, then providers, so one market's prices read down a column.
    const sortKey = `${market}\u001f${provider}`;
    const before = group.rows.findIndex((other) => `${other.market}\u001f${other.provider}` > sortKey);
    if (before === -1) {
      group.rows.push(row);
      group.body.append(element);
    } else {
      group.body.insertBefore(element, group.rows[before].element);
      group.rows.splice(before, 0, row);
    }
    this.#rows.set(row.key, row);
    if (this.#rows.size > MAX_ROWS) this.#evictOldestGame(gameId);
    return row;
  }

  #evictOldestGame(keep) {
    let oldest = null;
    for (const group of this.#groups.values()) {
      if (group.gameId === keep || group.gameId === this.#selectedGame) continue;
      if (!oldest || group.lastUpdate < oldest.lastUpdate) oldest = group;
    }
    if (oldest) this.#dropGroup(oldest);
  }

  #dropGroup(group) {
    for (const row of group.rows) {
      this.#rows.delete(row.key);
      this.#dirtyRows.delete(row);
    }
    this.#dirtyGroups.delete(group);
    this.#groups.delete(group.gameId);
    group.body.remove();
  }

  #render() {
    this.#frameRequested = false;
    for (const row of this.#dirtyRows) this.#renderRow(row);
    this.#dirtyRows.clear();
    for (const group of this.#dirtyGroups) this.#renderGroup(group);
    this.#dirtyGroups.clear();
  }

  #renderRow(row) {
    const values = row.values;
    if (!values) return;
    row.providerDown = this.#downProviders.has(row.provider);
    for (const field of COLUMNS) {
      const text = cellText(row, field);
      if (row.shown[field] !== text) {
        row.cells[field].textContent = text;
        row.shown[field] = text;
      }
    }
    for (const field of MOVING_FIELDS) {
      const before = row.shownValues[field];
      const now = values[field];
      if (isNumber(before) && isNumber(now) && now !== before) {
        const cell = row.cells[field];
        cell.classList.remove(now > before ? "flash-down" : "flash-up");
        replayAnimation(cell, now > before ? "flash-up" : "flash-down");
      }
      row.shownValues[field] = now;
    }
    const classes = row.element.classList;
    classes.toggle("suspended", values.status !== "open");
    classes.toggle("closed", values.status === "closed");
    classes.toggle("provider-down", row.providerDown);
    row.element.dataset.status = values.status;
    if (row.movedSignificantly) replayAnimation(row.element, "movement");
    else if (!values.movement) classes.remove("movement");
    row.movedSignificantly = false;
  }

  #renderGroup(group) {
    const details = this.#detailsOf(group.gameId);
    const { parts } = group;
    const name = details?.name ?? group.gameId;
    // Teams, home first, unless the name already says them.
    const teams = details?.homeTeam && details?.awayTeam
      && !(name.includes(details.homeTeam) && name.includes(details.awayTeam))
      ? `${details.homeTeam} (home) v ${details.awayTeam} (away)` : "";
    const seq = this.#seqOf(group.gameId);
    const setText = (element, text) => {
      if (element.textContent !== text) element.textContent = text;
    };
    setText(parts.name, name);
    setText(parts.teams, teams);
    setText(parts.sport, details?.sport ?? "");
    setText(parts.state, details?.status && details.status !== "scheduled" ? details.status : "");
    setText(parts.seq, seq === undefined ? "" : `seq ${seq}`);
    group.body.classList.toggle("stale", this.#staleGames.has(group.gameId));
    group.body.classList.toggle("resyncing", this.#resyncingGames.has(group.gameId));
    group.body.dataset.state = this.stateOf(group.gameId);
    group.body.title = group.gameId;
  }
}
