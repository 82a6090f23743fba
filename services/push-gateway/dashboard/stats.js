// Header figures: updates received, updates per second, end-to-end latency of the
// last update; and the latency panel's p50 and p99 over the last minute, end to end and
// per hop, from the trace stamps every odds frame carries. Counting costs a few
// operations per frame; the header and the panel read these figures on a timer.

import { isNumber, toEpochMillis } from "./format.js";

const RATE_WINDOW_MS = 2000; // averaged over two seconds: steady, yet quick to follow
const LATENCY_WINDOW_MS = 60_000; // the latency panel's last minute
const LATENCY_MAX_SAMPLES = 20_000; // per hop: past this, the oldest go first (a busy feed's minute)
// The trace's stamps, in pipeline order; each hop is between two of them (received: this page).
export const HOPS = Object.freeze([
  ["end to end", "ingestedAt", "receivedAt"],
  ["ingested \u2192 processed", "ingestedAt", "processedAt"],
  ["processed \u2192 pushed", "processedAt", "pushedAt"],
  ["pushed \u2192 received", "pushedAt", "receivedAt"],
]);

export class Stats {
  #received = 0;
  #latencyMs = null;
  #clockOffsetMs = 0; // gateway clock minus this browser's, from hello
  #samples = []; // [time, received], oldest first, spanning the rate window
  #rate = 0;
  #hopSamples = HOPS.map(() => []); // per hop, [time, ms], oldest first, spanning the latency window
  #hopFigures = HOPS.map(() => null); // per hop, { p50, p99, count } of the window, or null

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

  // Per hop (in HOPS' order): { hop, p50, p99, count } over the last minute, p50 and p99 null without samples.
  get hops() {
    return HOPS.map(([hop], index) => ({ hop, p50: null, p99: null, count: 0, ...this.#hopFigures[index] }));
  }

  // Every odds frame received, applied or not.
  count(frame) {
    this.#received += 1;
    const now = Date.now();
    const stamps = { ...frame.trace, receivedAt: now + this.#clockOffsetMs };
    const ingestedAt = toEpochMillis(stamps.ingestedAt);
    if (ingestedAt !== null) this.#latencyMs = stamps.receivedAt - ingestedAt;
    for (let index = 0; index < HOPS.length; index += 1) {
      const [, from, to] = HOPS[index];
      const start = toEpochMillis(stamps[from]);
      const end = toEpochMillis(stamps[to]);
      if (start === null || end === null) continue;
      const samples = this.#hopSamples[index];
      samples.push([now, Math.max(0, end - start)]);
      if (samples.length > LATENCY_MAX_SAMPLES) samples.shift();
    }
  }

  // Called on the timer: the latency panel's percentiles over the last minute.
  summarizeLatency(now = Date.now()) {
    for (let index = 0; index < HOPS.length; index += 1) {
      const samples = this.#hopSamples[index];
      while (samples.length && now - samples[0][0] > LATENCY_WINDOW_MS) samples.shift();
      if (!samples.length) {
        this.#hopFigures[index] = null;
        continue;
      }
      const sorted = samples.map(([, ms]) => ms).sort((a, b) => a - b);
      const at = (fraction) => sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
      this.#hopFigures[index] = { p50: at(0.5), p99: at(0.99), count: sorted.length };
    }
  }

  // Called on the header's timer: updates the rate.
  sample(now = performance.now()) {
    this.#samples.push([now, this.#received]);
    while (this.#samples.length > 2 && now - this.#samples[1][0] >= RATE_WINDOW_MS) this.#samples.shift();
    const [since, receivedThen] = this.#samples[0];
    this.#rate = now > since ? ((this.#received - receivedThen) * 1000) / (now - since) : 0;
  }
}
