// Entry point: wires the gateway connection to the board, the chart, the alerts and
// the header, and exposes read-only state as window.sportsfeedDashboard (for tests
// and for an analyst's console).

import { AlertsPanel } from "./alerts.js";
import { Board } from "./board.js";
import { ChartPanel } from "./chart.js";
import { CountsChart } from "./counts.js";
import { formatCount } from "./format.js";
import { GameDirectory } from "./games.js";
import { GatewayConnection, gatewayUrl } from "./protocol.js";
import { SeqTracker, Verdict } from "./sequence.js";
import { HOPS, Stats } from "./stats.js";
import { Watch, WatchBar } from "./watch.js";

const HEADER_REFRESH_MS = 250;

const byId = (id) => document.getElementById(id);

// One id per page load, kept across reconnects: the gateway limits connections per client id.
function newClientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return `dashboard-${Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

const clientId = newClientId();
const tracker = new SeqTracker();
const stats = new Stats();
// unwatched: frames of games the analyst had just stopped watching, dropped on arrival.
const counters = { applied: 0, duplicates: 0, gaps: 0, snapshots: 0, serverErrors: 0, resyncs: 0, unwatched: 0 };
const providersDown = new Map(); // every provider seen -> down?
let watch = Watch.fromSearch(new URLSearchParams(location.search));

const games = new GameDirectory((gameId) => {
  // A game let in before its sport was known leaves once its sport says it is not watched (and, if a
  // resume named it, its subscription by name goes too).
  if (!watching(gameId)) {
    const shown = board.gameIds().includes(gameId) || tracker.lastSeqOf(gameId) !== undefined;
    dropGame(gameId);
    if (shown) connection.watch(watch.subscription(), { leavingGames: [gameId] });
    return;
  }
  board.refreshGame(gameId);
  if (chart.state.gameId === gameId) chart.retitle(gameTitle(gameId));
});

const watching = (gameId) => watch.admits(gameId, games.get(gameId)?.sport);

function dropGame(gameId) {
  board.removeGame(gameId);
  tracker.forget(gameId);
  if (chart.state.gameId === gameId) chart.close();
}

// The analyst chose what to watch: the board keeps only those games and the socket subscribes to them.
function changeWatch(next) {
  const previous = watch;
  watch = next;
  const search = next.toSearch(location.search).toString();
  history.replaceState(null, "", `${location.pathname}${search ? `?${search}` : ""}`);
  const leavingGames = [...new Set([...board.gameIds(), ...tracker.knownGames()])].filter((id) => !watching(id));
  leavingGames.forEach(dropGame);
  watchBar.show(next);
  const without = (values, others) => values.filter((value) => !others.includes(value));
  connection.watch(next.subscription(), {
    // A game named before stays subscribed by name until it is named in an unsubscribe.
    leavingGames: [...new Set([...leavingGames, ...without(previous.games, next.games)])],
    addedSports: without(next.sports, previous.sports),
    droppedSports: without(previous.sports, next.sports),
    addedGames: without(next.games, previous.games),
  });
}

const board = new Board({
  table: byId("board"),
  emptyNote: byId("board-empty"),
  detailsOf: (gameId) => games.get(gameId),
  seqOf: (gameId) => tracker.lastSeqOf(gameId),
  onSelect: showChart,
});

const chart = new ChartPanel({
  panel: byId("chart"),
  board,
  onChoose: (gameId, market, provider) => {
    if (gameId) showChart(gameId, market, provider);
    else {
      counts.close();
      board.select(null);
    }
  },
});
const counts = new CountsChart(byId("counts"));

const watchBar = new WatchBar({ element: byId("watch"), gamesKnown: () => games.known(), onChange: changeWatch });

const alerts = new AlertsPanel({
  list: byId("alerts"),
  count: byId("alerts-count"),
  nameOf: (gameId) => games.get(gameId)?.name ?? null,
});

function gameTitle(gameId) {
  return games.get(gameId)?.name ?? gameId;
}

// provider: the one asked for if it quotes the market, otherwise the market's first.
function showChart(gameId, market, provider) {
  board.select(gameId);
  if (chart.state.gameId !== gameId) counts.open(gameId);
  const providers = board.providersOf(gameId, market);
  const shown = providers.includes(provider) ? provider : (providers[0] ?? provider);
  chart.open(gameId, market, shown, gameTitle(gameId), board.latestPrice(gameId, market, shown));
}

function applyOdds(frame) {
  board.applyOdds(frame);
  chart.addLive(frame);
  games.learn(frame.gameId);
  if (typeof frame.provider === "string" && !providersDown.has(frame.provider)) showProvider(frame.provider, false);
}

// A game's updates went missing: it shows as resyncing until its snapshot. A quick resync may come and
// go within one painted frame, so the episodes are counted too.
function startResyncing(gameId) {
  if (board.setResyncing(gameId, true)) counters.resyncs += 1;
}

function applySnapshot(frame) {
  counters.snapshots += 1;
  board.setResyncing(frame.gameId, false); // a snapshot starts the game afresh or says nothing was missed
  if (frame.game) games.remember(frame.gameId, frame.game);
  else games.learn(frame.gameId);
  if (typeof frame.stale === "boolean") board.setStale(frame.gameId, frame.stale);
  // recovered: false carries the latest price of every market; recovered: true none
  // (the missed updates follow as odds frames).
  for (const market of Array.isArray(frame.markets) ? frame.markets : []) {
    if (market && typeof market === "object") applyOdds({ ...market, gameId: market.gameId ?? frame.gameId });
  }
  board.refreshGame(frame.gameId);
}

function applyStatus(frame) {
  if (typeof frame.provider === "string" && typeof frame.down === "boolean") {
    board.setProviderDown(frame.provider, frame.down);
    showProvider(frame.provider, frame.down);
  }
  if (typeof frame.gameId !== "string") return;
  if (typeof frame.stale === "boolean") board.setStale(frame.gameId, frame.stale);
  if (frame.resyncing === true) startResyncing(frame.gameId); // the connection asks for a snapshot
  if (typeof frame.gameStatus === "string") {
    games.setStatus(frame.gameId, frame.gameStatus);
    board.refreshGame(frame.gameId);
  }
  if (typeof frame.marketStatus === "string" && typeof frame.market === "string") {
    board.setMarketStatus(frame.gameId, frame.provider, frame.market, frame.marketStatus);
  }
}

function showProvider(provider, down) {
  providersDown.set(provider, down);
  const list = byId("providers");
  let item = list.querySelector(`li[data-provider="${CSS.escape(provider)}"]`);
  if (!item) {
    item = document.createElement("li");
    item.dataset.provider = provider;
    item.textContent = provider;
    list.append(item);
  }
  item.classList.toggle("down", down);
  item.title = down ? `${provider}: down` : `${provider}: up`;
}

function showConnection({ state, attempt, detail }) {
  const indicator = byId("connection");
  indicator.dataset.state = state;
  indicator.dataset.attempt = String(attempt);
  byId("connection-state").textContent = state;
  byId("connection-detail").textContent = detail;
}

const connection = new GatewayConnection({
  url: gatewayUrl(location, clientId, new URLSearchParams(location.search).get("token")),
  tracker,
  knownSports: () => games.sports(),
  watching: () => watch.subscription(),
  admits: watching,
  handlers: {
    state: showConnection,
    hello: (frame) => stats.syncClock(frame.serverTime),
    // Until the next socket resumes a game (its snapshot), what the board shows of it may be behind: a
    // restarting gateway, for one, takes no socket until its replay window is warm.
    lost: () => board.gameIds().forEach(startResyncing),
    odds: (frame, verdict) => {
      stats.count(frame);
      if (verdict === Verdict.APPLY) {
        counters.applied += 1;
        applyOdds(frame);
      } else if (verdict === Verdict.DUPLICATE) {
        counters.duplicates += 1;
      } else {
        counters.gaps += 1; // held back: the replay asked for brings it again, in order
        startResyncing(frame.gameId);
      }
    },
    snapshot: applySnapshot,
    alert: (frame) => alerts.add(frame),
    status: applyStatus,
    unwatched: () => {
      counters.unwatched += 1;
    },
    serverError: (frame) => {
      counters.serverErrors += 1;
      console.warn(`gateway error ${frame.code}: ${frame.message}`);
    },
  },
});

// The latency panel: a row per hop, its figures refreshed with the header's.
const latencyCells = HOPS.map(([hop]) => {
  const row = byId("latency").tBodies[0].insertRow();
  row.dataset.hop = hop;
  const cells = [hop, "\u2013", "\u2013", "0"].map((text, index) => {
    const cell = row.insertCell();
    cell.textContent = text;
    if (index > 0) cell.className = ["num p50", "num p99", "num frames"][index - 1];
    return cell;
  });
  return cells.slice(1);
});

const LATENCY_REFRESH_MS = 1000; // a minute's percentiles need no more: sorting them is the cost
let latencyRefreshedAt = -Infinity;

function refreshLatency() {
  if (performance.now() - latencyRefreshedAt < LATENCY_REFRESH_MS) return;
  latencyRefreshedAt = performance.now();
  stats.summarizeLatency();
  stats.hops.forEach(({ p50, p99, count }, index) => {
    const [p50Cell, p99Cell, countCell] = latencyCells[index];
    const ms = (value) => (value === null ? "\u2013" : `${formatCount(value)} ms`);
    const texts = [ms(p50), ms(p99), formatCount(count)];
    [p50Cell, p99Cell, countCell].forEach((cell, at) => {
      if (cell.textContent !== texts[at]) cell.textContent = texts[at];
    });
  });
}

function refreshHeader() {
  stats.sample();
  refreshLatency();
  watchBar.refresh();
  const texts = {
    "stat-received": formatCount(stats.received),
    "stat-rate": stats.rate >= 10 ? formatCount(stats.rate) : stats.rate.toFixed(1),
    "stat-latency": stats.latencyMs === null ? "\u2013" : `${formatCount(Math.max(0, stats.latencyMs))} ms`,
    "stat-games": formatCount(board.gameCount),
    "stat-rows": formatCount(board.rowCount),
  };
  for (const [id, text] of Object.entries(texts)) {
    const element = byId(id);
    if (element.textContent !== text) element.textContent = text;
  }
}

window.sportsfeedDashboard = Object.freeze({
  clientId,
  get connection() { return connection.state; },
  get attempt() { return connection.attempt; },
  get epoch() { return tracker.epoch; },
  get lastSeq() { return tracker.since(); },
  get received() { return stats.received; },
  get applied() { return counters.applied; },
  get duplicates() { return counters.duplicates; },
  get gaps() { return counters.gaps; },
  get snapshots() { return counters.snapshots; },
  get resyncs() { return counters.resyncs; },
  get unwatched() { return counters.unwatched; },
  get serverErrors() { return counters.serverErrors; },
  get rate() { return stats.rate; },
  get latencyMs() { return stats.latencyMs; },
  get latency() { return stats.hops; },
  get rows() { return board.rowCount; },
  get games() { return board.gameCount; },
  get alerts() { return alerts.total; },
  get chart() { return chart.state; },
  get watch() { return { everything: watch.everything, sports: watch.sports, games: watch.games }; },
  get gameIds() { return board.gameIds(); },
});

watchBar.show(watch);
setInterval(refreshHeader, HEADER_REFRESH_MS);
connection.start();
