// The WebSocket to the push gateway: connect, reconnect with backoff, and resume
// without missing an update. The frames and ops are those of docs/push-gateway.md.
//
// Subscriptions, and why the first connection sends nothing: a socket that sends
// nothing receives every update of every game, which is what the board wants. A
// `subscribe` switches that socket to "only the games and sports subscribed", and an
// unsubscribe can never switch it back. So:
//   - on the first connection nothing is sent;
//   - after a reconnect the page subscribes to every sport it has learnt about (so new
//     games of those sports still arrive) and to every game it has seen, with `since`
//     = the last seq applied per game when hello's epoch is unchanged, so the gateway
//     replays what was missed; with a new epoch, without `since` (fresh snapshots).
//     Such a socket is opened with `mode=subscribed`, so no update reaches it before
//     that subscribe and the replay is all it gets of the missed ones: none twice;
//   - a gap on a socket still receiving everything needs a replay too, and a replay
//     needs a subscribe: that first subscribe is the same full one as on a reconnect,
//     later ones name only the game with the gap.
// Known limit: once subscribed, games of a sport the page never learnt (no game
// details yet) do not arrive until the page is reloaded.
//
// What the analyst watches (watch.js) changes that: a page watching some sports and
// games subscribes to exactly those, on its first socket and after every reconnect
// (with `since` for the games it has seqs of). Changing the choice unsubscribes what
// left it and subscribes what joined it on the same socket; going back to every game
// opens a fresh socket that sends nothing, since no op widens a socket again.

import { Verdict } from "./sequence.js";

export const ConnectionState = Object.freeze({
  CONNECTING: "connecting",
  LIVE: "live",
  RECONNECTING: "reconnecting",
  OFFLINE: "offline",
});

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 10_000;
// A quiet socket is probed with a ping; one silent for longer is taken as dead
// (a half-open TCP connection never fires `close` by itself).
const PING_AFTER_QUIET_MS = 15_000;
const DEAD_AFTER_SILENT_MS = 45_000;
const WATCHDOG_TICK_MS = 5_000;
// The gateway accepts at most 1000 games (and `since` entries) and 100 sports per op.
const GAMES_PER_SUBSCRIBE = 500;
const SPORTS_PER_SUBSCRIBE = 100;
// Close codes after which trying again cannot help (bad Origin or token).
const REFUSED_CODES = new Set([1008]);

// Delay before reconnect attempt n (1-based): 0.5 s doubling to 10 s, with "equal
// jitter" (half fixed, half random) so dashboards dropped together by one gateway
// restart do not all come back in the same millisecond.
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.max(0, attempt - 1));
  return ceiling / 2 + (random() * ceiling) / 2;
}

export function gatewayUrl(location, clientId, token) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const query = new URLSearchParams({ client: clientId });
  if (token) query.set("token", token);
  return `${scheme}//${location.host}/ws?${query}`;
}

export class GatewayConnection {
  #url;
  #tracker;
  #knownSports;
  #on;
  #socket = null;
  #state = ConnectionState.CONNECTING;
  #attempt = 0; // reconnect attempts since the page was last live
  #retryTimer = null;
  #lastFrameAt = 0;
  #lastPingAt = 0;
  #subscribedThisSocket = false;
  #subscribedToWatch = false; // this socket's subscription is the analyst's choice, not "everything known"
  #everythingOnNextSocket = false; // back to every game: the next socket subscribes to nothing
  #hadConnection = false;
  #watching;
  #admits;

  // tracker: a SeqTracker; knownSports: () => string[]; watching: () => {sports, games} or null (every
  // game); admits(gameId): whether the page still wants the game's frames; handlers: { state, hello,
  // odds(frame, verdict), snapshot, alert, status, serverError, unwatched, lost (the socket went away
  // unasked) }, each optional.
  constructor({ url, tracker, knownSports, watching = () => null, admits = () => true, handlers }) {
    this.#url = url;
    this.#tracker = tracker;
    this.#knownSports = knownSports;
    this.#watching = watching;
    this.#admits = admits;
    this.#on = handlers;
  }

  get state() {
    return this.#state;
  }

  get attempt() {
    return this.#attempt;
  }

  start() {
    window.addEventListener("online", () => {
      if (this.#state === ConnectionState.OFFLINE) this.#connectNow();
    });
    setInterval(() => this.#checkAlive(), WATCHDOG_TICK_MS);
    this.#open();
  }

  #setState(state, detail = "") {
    this.#state = state;
    this.#on.state?.({ state, attempt: this.#attempt, detail });
  }

  #open() {
    this.#retryTimer = null;
    this.#subscribedThisSocket = false;
    this.#subscribedToWatch = false;
    this.#lastFrameAt = Date.now();
    this.#setState(this.#hadConnection ? ConnectionState.RECONNECTING : ConnectionState.CONNECTING,
      this.#attempt ? `attempt ${this.#attempt}` : "");
    let socket;
    try {
      socket = new WebSocket(this.#urlForThisSocket());
    } catch (error) {
      this.#scheduleReconnect(`cannot open: ${error.message}`);
      return;
    }
    this.#socket = socket;
    socket.addEventListener("message", (event) => {
      if (socket === this.#socket) this.#receive(event.data);
    });
    socket.addEventListener("close", (event) => {
      if (socket === this.#socket) this.#closed(event);
    });
  }

  // A page that will subscribe at once (it watches, or knows games or sports) asks for nothing before it does.
  #urlForThisSocket() {
    if (this.#everythingOnNextSocket) return this.#url;
    const willSubscribe = this.#watching() !== null || this.#tracker.knownGames().length > 0
      || this.#knownSports().length > 0;
    return willSubscribe ? `${this.#url}&mode=subscribed` : this.#url;
  }

  #closed(event) {
    this.#socket = null;
    this.#on.lost?.(); // whatever happened since is unknown until the games are resumed
    if (REFUSED_CODES.has(event.code)) {
      this.#setState(ConnectionState.OFFLINE, "refused by the gateway (origin or token)");
      return;
    }
    if (navigator.onLine === false) {
      this.#setState(ConnectionState.OFFLINE, "browser is offline");
      return; // the `online` event reconnects
    }
    this.#scheduleReconnect(event.code ? `closed ${event.code}` : "connection lost");
  }

  #scheduleReconnect(reason) {
    this.#attempt += 1;
    const delay = backoffDelay(this.#attempt);
    this.#setState(ConnectionState.RECONNECTING,
      `attempt ${this.#attempt} in ${(delay / 1000).toFixed(1)} s (${reason})`);
    this.#retryTimer = setTimeout(() => this.#open(), delay);
  }

  #connectNow() {
    clearTimeout(this.#retryTimer);
    this.#open();
  }

  // A fresh socket at once, the old one closed without counting as a lost connection.
  #reopen() {
    const socket = this.#socket;
    this.#socket = null;
    socket?.close(1000, "watching something else");
    this.#connectNow();
  }

  // The analyst changed what the page watches. next: {sports, games}, or null for every game;
  // change: the games that left the board and the sports and games that joined or left the choice.
  watch(next, { leavingGames = [], addedSports = [], droppedSports = [], addedGames = [] } = {}) {
    if (next === null) {
      this.#tracker.forgetSeqs(); // a socket that receives everything needs no since: nothing to resume
      this.#everythingOnNextSocket = true;
      this.#reopen();
    } else if (!this.#socket || this.#state !== ConnectionState.LIVE) {
      // the next socket subscribes to the new choice when it opens
    } else if (!this.#subscribedThisSocket) {
      // Receiving everything until now: the choice narrows it. Only the games chosen are named: a game
      // seen so far whose sport is not known yet comes through its sport's subscription if it is watched.
      this.#subscribeToEverythingKnown(true, false);
    } else if (!this.#subscribedToWatch) {
      this.#reopen(); // subscribed to every game known (a resume): start over on the choice
    } else {
      this.#sendInChunks("unsubscribe", leavingGames, droppedSports, {});
      this.#sendInChunks("subscribe", addedGames, addedSports, {});
    }
  }

  #checkAlive() {
    const socket = this.#socket;
    if (!socket) return;
    const silentFor = Date.now() - this.#lastFrameAt;
    if (silentFor > DEAD_AFTER_SILENT_MS) {
      this.#socket = null;
      socket.close();
      this.#on.lost?.();
      this.#scheduleReconnect("no answer");
    } else if (silentFor > PING_AFTER_QUIET_MS && Date.now() - this.#lastPingAt > PING_AFTER_QUIET_MS) {
      this.#lastPingAt = Date.now();
      this.#send({ op: "ping", id: "keepalive" });
    }
  }

  #send(op) {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(op));
  }

  #receive(text) {
    this.#lastFrameAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return; // not ours to fix; the next frame may be fine
    }
    if (!frame || typeof frame !== "object") return;
    // Frames of a game the analyst just stopped watching, sent before the unsubscribe was read.
    if (typeof frame.gameId === "string" && !this.#admits(frame.gameId)) {
      this.#on.unwatched?.(frame);
      return;
    }
    switch (frame.type) {
      case "hello": return this.#hello(frame);
      case "odds": return this.#odds(frame);
      case "snapshot":
        if (typeof frame.gameId !== "string") return;
        this.#tracker.snapshot(frame);
        return this.#on.snapshot?.(frame);
      case "alert": return this.#on.alert?.(frame);
      case "status":
        // The gateway saw updates of the game go missing: ask for a fresh snapshot, as for a gap of our own.
        if (frame.resyncing === true && typeof frame.gameId === "string"
            && this.#tracker.shouldAskResume(frame.gameId)) {
          this.#askReplay(frame.gameId);
        }
        return this.#on.status?.(frame);
      case "error": return this.#on.serverError?.(frame);
      default: return undefined; // pong and frames of later protocol versions
    }
  }

  #hello(frame) {
    this.#tracker.connectionOpened();
    const sameEpoch = this.#tracker.adoptEpoch(frame.epoch);
    this.#hadConnection = true;
    this.#attempt = 0;
    this.#setState(ConnectionState.LIVE);
    this.#on.hello?.(frame, { sameEpoch });
    if (this.#everythingOnNextSocket) this.#everythingOnNextSocket = false;
    else this.#subscribeToEverythingKnown(sameEpoch);
  }

  #odds(frame) {
    if (typeof frame.gameId !== "string") return;
    const verdict = this.#tracker.classify(frame);
    if (verdict === Verdict.GAP && this.#tracker.shouldAskResume(frame.gameId)) {
      this.#askReplay(frame.gameId);
    }
    this.#on.odds?.(frame, verdict);
  }

  #askReplay(gameId) {
    if (!this.#subscribedThisSocket) {
      this.#subscribeToEverythingKnown(true);
      return;
    }
    const since = this.#tracker.lastSeqOf(gameId);
    this.#send({ op: "subscribe", games: [gameId], since: since === undefined ? {} : { [gameId]: since } });
  }

  // The full resume (see the top of this file): what the analyst watches, or every game and
  // sport known. Sends nothing while nothing is watched or known, so a first connection keeps
  // receiving everything.
  // nameKnownGames: name every game the tracker has seqs of, so that each resumes from its `since`.
  #subscribeToEverythingKnown(withSince, nameKnownGames = true) {
    const watched = this.#watching();
    const known = nameKnownGames ? this.#tracker.knownGames() : [];
    const games = watched ? [...new Set([...watched.games, ...known])] : known;
    const sports = [...new Set(watched ? watched.sports : this.#knownSports())];
    if (games.length === 0 && sports.length === 0) return;
    const since = withSince ? this.#tracker.since() : {};
    this.#sendInChunks("subscribe", games, sports, since);
    this.#tracker.resumeAsked(Object.keys(since));
    this.#subscribedThisSocket = true;
    this.#subscribedToWatch = watched !== null;
  }

  // A subscribe or unsubscribe in as many frames as the gateway's limits need.
  #sendInChunks(op, games, sports, since) {
    const rounds = Math.max(
      Math.ceil(games.length / GAMES_PER_SUBSCRIBE), Math.ceil(sports.length / SPORTS_PER_SUBSCRIBE));
    for (let round = 0; round < rounds; round += 1) {
      const someGames = games.slice(round * GAMES_PER_SUBSCRIBE, (round + 1) * GAMES_PER_SUBSCRIBE);
      const someSports = sports.slice(round * SPORTS_PER_SUBSCRIBE, (round + 1) * SPORTS_PER_SUBSCRIBE);
      if (op === "unsubscribe") {
        this.#send({ op, games: someGames, sports: someSports });
        continue;
      }
      const sinceOfThese = {};
      for (const gameId of someGames) {
        if (since[gameId] !== undefined) sinceOfThese[gameId] = since[gameId];
      }
      this.#send({ op, games: someGames, sports: someSports, since: sinceOfThese });
    }
  }
}
