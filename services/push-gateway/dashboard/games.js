// Game details (name, teams, sport) by gameId. They come from snapshot frames'
// `game` field and, for a game first seen in an odds frame, from the read API
// (GET /api/v1/games/<id>). A game's first prices often reach the page before its
// details are stored (the push never waits for storage), so a 404 is asked again a
// few times, further apart each time; after that the board shows the id.

import { apiHeaders } from "./api.js";

const CONCURRENT_REQUESTS = 4; // a page opened on a busy feed meets hundreds of games at once
const NOT_STORED_YET_RETRIES_MS = [1_000, 3_000, 10_000];

// The Game event as the read API and snapshots send it (camelCase), or null.
export function gameDetails(body) {
  const game = body && typeof body === "object" && body.game && typeof body.game === "object" ? body.game : body;
  if (!game || typeof game !== "object") return null;
  const text = (value) => (typeof value === "string" && value ? value : null);
  const details = {
    name: text(game.name),
    sport: text(game.sport),
    homeTeam: text(game.homeTeam),
    awayTeam: text(game.awayTeam),
    status: text(game.status),
    gameDate: text(game.gameDate),
  };
  return Object.values(details).some((value) => value !== null) ? details : null;
}

export class GameDirectory {
  #details = new Map(); // gameId -> details
  #requested = new Set();
  #queue = [];
  #inFlight = 0;
  #onChange;

  constructor(onChange) {
    this.#onChange = onChange;
  }

  get(gameId) {
    return this.#details.get(gameId) ?? null;
  }

  // Every game seen or told about, with its details when they are known: [[gameId, details or null]...].
  known() {
    return [...this.#requested].map((gameId) => [gameId, this.#details.get(gameId) ?? null]);
  }

  sports() {
    const sports = new Set();
    for (const details of this.#details.values()) if (details.sport) sports.add(details.sport);
    return [...sports];
  }

  // Details from a snapshot frame; they are the newest there are.
  remember(gameId, game) {
    const details = gameDetails(game);
    if (!details) return;
    this.#requested.add(gameId); // no need to ask the read API any more
    this.#details.set(gameId, details);
    this.#onChange(gameId, details);
  }

  // A status frame's gameStatus (scheduled, live, finished, cancelled): newer than what was known.
  setStatus(gameId, status) {
    const details = { ...(this.#details.get(gameId) ?? { name: null, sport: null, homeTeam: null, awayTeam: null,
      gameDate: null }), status };
    this.#details.set(gameId, details);
    this.#onChange(gameId, details);
  }

  // Called for every game seen; asks the read API once per game (and again while it answers 404).
  learn(gameId) {
    if (this.#requested.has(gameId)) return;
    this.#requested.add(gameId);
    this.#ask(gameId, 0);
  }

  #ask(gameId, attempt) {
    this.#queue.push([gameId, attempt]);
    this.#pump();
  }

  #pump() {
    while (this.#inFlight < CONCURRENT_REQUESTS && this.#queue.length) {
      const [gameId, attempt] = this.#queue.shift();
      this.#inFlight += 1;
      this.#fetch(gameId, attempt).finally(() => {
        this.#inFlight -= 1;
        this.#pump();
      });
    }
  }

  async #fetch(gameId, attempt) {
    try {
      const response = await fetch(`/api/v1/games/${encodeURIComponent(gameId)}`, {
        headers: apiHeaders(),
      });
      if (response.status === 404 && attempt < NOT_STORED_YET_RETRIES_MS.length) {
        setTimeout(() => {
          if (!this.#details.has(gameId)) this.#ask(gameId, attempt + 1);
        }, NOT_STORED_YET_RETRIES_MS[attempt]);
      }
      if (!response.ok) return;
      const details = gameDetails(await response.json());
      // A snapshot may have brought details while the request was out: those win.
      if (details && !this.#details.has(gameId)) {
        this.#details.set(gameId, details);
        this.#onChange(gameId, details);
      }
    } catch {
      // no details: the board keeps showing the game id
    }
  }
}
