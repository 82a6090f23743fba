// What the analyst watches: the games of some sports plus some named games, or, with
// nothing chosen, every game. The gateway sends a socket only what it subscribed to
// (docs/push-gateway.md), so a choice here is a subscription, not just a view: a
// desk watching one sport does not receive, decode and drop every other sport's prices.
//
// The choice lives in the page's address (?sports=soccer,tennis&games=game-1), so a
// reload or a shared link opens the same board.

const LIST_SEPARATOR = ",";

function listParameter(search, name) {
  const value = search.get(name);
  return value ? value.split(LIST_SEPARATOR).map((item) => item.trim()).filter(Boolean) : [];
}

export class Watch {
  #sports;
  #games;

  constructor({ sports = [], games = [] } = {}) {
    this.#sports = new Set(sports);
    this.#games = new Set(games);
  }

  static fromSearch(search) {
    return new Watch({ sports: listParameter(search, "sports"), games: listParameter(search, "games") });
  }

  get everything() {
    return this.#sports.size === 0 && this.#games.size === 0;
  }

  get sports() {
    return [...this.#sports].sort();
  }

  get games() {
    return [...this.#games];
  }

  // What to subscribe to, or null for every game (a socket that sends no subscribe).
  subscription() {
    return this.everything ? null : { sports: this.sports, games: this.games };
  }

  // Whether a game belongs on the board. A game whose sport is not known yet is let in
  // while sports are watched: the gateway sent it, and it knows the sport.
  admits(gameId, sport) {
    if (this.everything || this.#games.has(gameId)) return true;
    return sport ? this.#sports.has(sport) : this.#sports.size > 0;
  }

  withSport(sport, watched) {
    const sports = new Set(this.#sports);
    if (watched) sports.add(sport);
    else sports.delete(sport);
    return new Watch({ sports, games: this.#games });
  }

  withGame(gameId, watched) {
    const games = new Set(this.#games);
    if (watched) games.add(gameId);
    else games.delete(gameId);
    return new Watch({ sports: this.#sports, games });
  }

  // The address of the page watching this (other parameters, such as a token, kept).
  toSearch(search) {
    const next = new URLSearchParams(search);
    for (const [name, values] of [["sports", this.sports], ["games", this.games]]) {
      if (values.length) next.set(name, values.join(LIST_SEPARATOR));
      else next.delete(name);
    }
    return next;
  }
}

// The bar above the board: "all games", a button per sport known, a chip per game
// watched, and a field to add a game by name or id.
export class WatchBar {
  #element;
  #all;
  #sports;
  #games;
  #input;
  #options;
  #gamesKnown;
  #onChange;
  #watch = new Watch();
  #shownSports = "";
  #shownOptions = "";

  // gamesKnown() -> [[gameId, details or null]...]; onChange(watch) when the analyst changes it.
  constructor({ element, gamesKnown, onChange }) {
    this.#element = element;
    this.#all = element.querySelector("#watch-all");
    this.#sports = element.querySelector("#watch-sports");
    this.#games = element.querySelector("#watch-games");
    this.#input = element.querySelector("#watch-game-input");
    this.#options = element.querySelector("#watch-game-options");
    this.#gamesKnown = gamesKnown;
    this.#onChange = onChange;
    this.#all.addEventListener("click", () => this.#onChange(new Watch()));
    this.#sports.addEventListener("click", (event) => {
      const sport = event.target.closest("button[data-sport]")?.dataset.sport;
      if (sport) this.#onChange(this.#watch.withSport(sport, !this.#watch.sports.includes(sport)));
    });
    this.#games.addEventListener("click", (event) => {
      const gameId = event.target.closest("button[data-unwatch]")?.dataset.unwatch;
      if (gameId) this.#onChange(this.#watch.withGame(gameId, false));
    });
    this.#input.addEventListener("change", () => this.#addTypedGame());
    this.#input.addEventListener("input", () => this.#input.classList.remove("invalid"));
  }

  show(watch) {
    this.#watch = watch;
    this.#element.dataset.everything = String(watch.everything);
    this.#all.setAttribute("aria-pressed", String(watch.everything));
    const names = new Map(this.#gamesKnown());
    this.#games.replaceChildren(...watch.games.map((gameId) => {
      const chip = document.createElement("span");
      chip.className = "watch-game";
      chip.dataset.game = gameId;
      chip.textContent = names.get(gameId)?.name ?? gameId;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.dataset.unwatch = gameId;
      remove.setAttribute("aria-label", `stop watching ${chip.textContent}`);
      remove.textContent = "\u00d7";
      chip.append(remove);
      return chip;
    }));
    this.#shownSports = "";
    this.refresh();
  }

  // Sports and games learnt since: new buttons and suggestions (cheap when nothing changed).
  refresh() {
    const known = this.#gamesKnown();
    const sports = [...new Set([...known.map(([, details]) => details?.sport).filter(Boolean),
      ...this.#watch.sports])].sort();
    const sportsKey = sports.join("\u001f");
    if (sportsKey !== this.#shownSports) {
      this.#shownSports = sportsKey;
      this.#sports.replaceChildren(...sports.map((sport) => {
        const button = document.createElement("button");
        button.type = "button";
        button.dataset.sport = sport;
        button.textContent = sport;
        button.setAttribute("aria-pressed", String(this.#watch.sports.includes(sport)));
        return button;
      }));
    }
    const optionsKey = known.map(([gameId]) => gameId).join("\u001f");
    if (optionsKey !== this.#shownOptions) {
      this.#shownOptions = optionsKey;
      this.#options.replaceChildren(...known.map(([gameId, details]) => {
        const option = document.createElement("option");
        option.value = gameId;
        option.label = details?.name ? `${details.name}${details.sport ? ` \u00b7 ${details.sport}` : ""}` : gameId;
        return option;
      }));
    }
  }

  // A game id, or the name of a game the page knows (any case); anything else is refused on the spot.
  #addTypedGame() {
    const typed = this.#input.value.trim();
    if (!typed) return;
    const lower = typed.toLowerCase();
    const byName = this.#gamesKnown().find(([gameId, details]) => gameId === typed
      || details?.name?.toLowerCase() === lower);
    const gameId = byName?.[0] ?? (/^game-[A-Za-z0-9][A-Za-z0-9._:-]{0,122}$/.test(typed) ? typed : null);
    if (!gameId) {
      this.#input.classList.add("invalid");
      this.#input.title = `no game named "${typed}": type a game id (game-...) or pick a suggestion`;
      return;
    }
    this.#input.value = "";
    this.#input.title = "";
    this.#onChange(this.#watch.withGame(gameId, true));
  }
}
