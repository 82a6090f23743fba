// Header figures: updates received, updates per second, end-to-end latency of the
// last update. Counting costs a few operations per frame; the header reads these
// figures on a timer, not per update.

import { isNumber, toEpochMillis } from "./format.js";

const RATE_WINDOW_MS = 2000; // averaged over two seconds: steady, yet quick to follow

export class Stats {
  #received = 0;
  #latencyMs = null;
  #clockOffsetMs = 0; // gateway clock minus this browser's, from hello
  #samples = []; // [time, received], oldest first, spanning the rate window
  #rate = 0;

  get received() {
    return this.#received;
  }

  get rate() {
    return this.#rate;
  }

  get latencyMs() {
    return this.#latencyMs;
  }

  // hello's serverTime: latency is measured on the platform's clock rather than the
  // browser's, which may be seconds off (the offset is short by half a round trip).
  syncClock(serverTime) {
    if (isNumber(serverTime)) this.#clockOffsetMs = serverTime - Date.now();
  }

  // Every odds frame received, applied or not.
  count(frame) {
    this.#received += 1;
    const ingestedAt = toEpochMillis(frame.trace?.ingestedAt);
    if (ingestedAt !== null) this.#latencyMs = Date.now() + this.#clockOffsetMs - ingestedAt;
  }

  // Called on the header's timer: updates the rate.
  sample(now = performance.now()) {
    this.#samples.push([now, this.#received]);
    while (this.#samples.length > 2 && now - this.#samples[1][0] >= RATE_WINDOW_MS) this.#samples.shift();
    const [since, receivedThen] = this.#samples[0];
    this.#rate = now > since ? ((this.#received - receivedThen) * 1000) / (now - since) : 0;
  }
}
