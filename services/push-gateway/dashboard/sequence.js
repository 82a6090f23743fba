// Per-game sequence bookkeeping: which odds frames to apply, which are duplicates,
// and where a gap means updates went missing. Pure state, no I/O, so the rules of
// docs/push-gateway.md live in one place:
//   - seqs of one game increase by one per update, in the space named by hello's epoch;
//   - a snapshot with seq n means the next odds frame of that game is n + 1;
//   - a frame with `conflated` stands for several updates, and one with `skipped` follows updates
//     of its game that a slow socket's queue merged into a later frame: a jump of up to
//     (conflated - 1) + skipped is expected there.

export const Verdict = Object.freeze({
  APPLY: "apply",
  DUPLICATE: "duplicate", // seq at or below the last applied: already on the board
  GAP: "gap", // updates are missing before this one: hold it and ask for a replay
});

// A resume request that has had no snapshot by then is sent again on the next gap.
const RESUME_RETRY_MS = 5000;

export class SeqTracker {
  #lastSeq = new Map(); // gameId -> last seq applied
  #games = new Set(); // every game seen since the page loaded, even across epochs
  #resumeAskedAt = new Map(); // gameId -> when a replay was asked for and not yet answered
  #epoch = null;

  get epoch() {
    return this.#epoch;
  }

  // Adopts hello's epoch. Returns false when it differs from the one the seqs were
  // counted in: those seqs mean nothing now and are forgotten (the games are kept).
  adoptEpoch(epoch) {
    const continuous = this.#epoch === null || this.#epoch === epoch;
    if (!continuous) {
      this.#lastSeq.clear();
      this.#resumeAskedAt.clear();
    }
    this.#epoch = epoch ?? null;
    return continuous;
  }

  // A new socket: replays asked on the old one will never be answered.
  connectionOpened() {
    this.#resumeAskedAt.clear();
  }

  classify(frame) {
    const gameId = frame.gameId;
    this.#games.add(gameId);
    const seq = frame.seq;
    if (!Number.isInteger(seq)) return Verdict.APPLY; // unsequenced: nothing to check it against
    const last = this.#lastSeq.get(gameId);
    if (last !== undefined) {
      if (seq <= last) return Verdict.DUPLICATE;
      const expectedJump = (Number.isInteger(frame.conflated) ? frame.conflated - 1 : 0)
        + (Number.isInteger(frame.skipped) ? frame.skipped : 0);
      if (seq > last + 1 + expectedJump) return Verdict.GAP;
    }
    this.#lastSeq.set(gameId, seq);
    return Verdict.APPLY;
  }

  snapshot(frame) {
    this.#games.add(frame.gameId);
    if (Number.isInteger(frame.seq)) this.#lastSeq.set(frame.gameId, frame.seq);
    this.#resumeAskedAt.delete(frame.gameId);
  }

  // True when a replay of this game should be asked for now; remembers that it was.
  shouldAskResume(gameId, now = Date.now()) {
    const askedAt = this.#resumeAskedAt.get(gameId);
    if (askedAt !== undefined && now - askedAt < RESUME_RETRY_MS) return false;
    this.#resumeAskedAt.set(gameId, now);
    return true;
  }

  // A replay was asked for these games (a full resume): live frames that race ahead
  // of their snapshots must not ask again.
  resumeAsked(gameIds, now = Date.now()) {
    for (const gameId of gameIds) this.#resumeAskedAt.set(gameId, now);
  }

  // The analyst stopped watching the game: nothing of it is expected any more.
  forget(gameId) {
    this.#games.delete(gameId);
    this.#lastSeq.delete(gameId);
    this.#resumeAskedAt.delete(gameId);
  }

  // Back to every game on a fresh socket: each game starts again from its next frame (the games are
  // kept: a later resume names them, without since).
  forgetSeqs() {
    this.#lastSeq.clear();
    this.#resumeAskedAt.clear();
  }

  lastSeqOf(gameId) {
    return this.#lastSeq.get(gameId);
  }

  knownGames() {
    return [...this.#games];
  }

  // {gameId: last seq} for every game with one: the `since` of a resume.
  since() {
    return Object.fromEntries(this.#lastSeq);
  }
}
