// Per-minute candles of implied probability, one per side: the read API's odds candles
// turned into probabilities, and live prices folded into the current minute.
//
// Probabilities rather than odds: American odds jump from -100 to +100 as a price
// crosses evens, and the feed mixes American and decimal providers; probabilities are
// continuous and share one 0..100% axis. A longer price is a smaller probability, so
// an odds candle's high is a probability's low: the four prices are converted and the
// extremes taken again.

import { guessOddsFormat, impliedProbability, isNumber, toEpochMillis } from "./format.js";

export const SIDES = ["home", "away", "draw"];

export const minuteOf = (millis) => Math.floor(millis / 60_000);

// One side's odds OHLC ({open, high, low, close}) as a probability candle, or null.
function sideCandle(ohlc, format) {
  if (!ohlc || typeof ohlc !== "object") return null;
  const kind = format ?? guessOddsFormat(ohlc.close);
  const [open, close] = [impliedProbability(ohlc.open, kind), impliedProbability(ohlc.close, kind)];
  if (!isNumber(open) || !isNumber(close)) return null;
  const all = [ohlc.high, ohlc.low].map((odds) => impliedProbability(odds, kind)).filter(isNumber);
  return { open, high: Math.max(open, close, ...all), low: Math.min(open, close, ...all), close };
}

// A read-API candle as { minute, home, away, draw } of probability candles, or null.
export function fromApiCandle(candle, format) {
  const start = toEpochMillis(candle?.minute);
  if (start === null) return null;
  const sides = Object.fromEntries(SIDES.map((side) => [side, sideCandle(candle[side], format)]));
  if (SIDES.every((side) => sides[side] === null)) return null;
  return { minute: minuteOf(start), ...sides };
}

// One side's candle with a live price folded in (a first price opens it).
function foldPrice(candle, probability) {
  if (!isNumber(probability)) return candle;
  if (!candle) return { open: probability, high: probability, low: probability, close: probability };
  return {
    open: candle.open, high: Math.max(candle.high, probability), low: Math.min(candle.low, probability),
    close: probability,
  };
}

// The minute's candle with a live price ({home, away, draw} probabilities) folded in.
export function foldLive(candle, minute, probabilities) {
  const folded = { minute };
  for (const side of SIDES) folded[side] = foldPrice(candle?.[side] ?? null, probabilities[side]);
  return folded;
}

// A stored candle and the live one of the same minute: the stored one opened first, the
// live one closed last, and the extremes of both hold (they may share updates).
export function mergeStored(stored, live) {
  if (!live) return stored;
  const merged = { minute: stored.minute };
  for (const side of SIDES) {
    const [before, after] = [stored[side], live[side]];
    merged[side] = before && after ? {
      open: before.open, high: Math.max(before.high, after.high), low: Math.min(before.low, after.low),
      close: after.close,
    } : (after ?? before);
  }
  return merged;
}
