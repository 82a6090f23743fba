// Pure helpers shared by the board, the chart and the alerts: turning wire values
// into text and probabilities. Every function accepts missing or malformed input
// and answers with an empty value rather than throwing: the gateway's frames carry
// optional fields, and one odd frame must never stop the board.

export const EMPTY = "";

export function isNumber(value) {
  return typeof value === "number" && Number.isFinite(value);
}

// Epoch milliseconds from what the platform sends: epoch ms, epoch seconds or an ISO-8601 string.
export function toEpochMillis(value) {
  if (isNumber(value)) return value < 1e11 ? value * 1000 : value; // below 1e11 can only be seconds
  if (typeof value === "string" && value) {
    const parsed = Date.parse(value);
    return Number.isFinite(parsed) ? parsed : null;
  }
  return null;
}

// American odds are at or beyond +/-100; a decimal price is above 1 and far below 100.
// Candles carry no oddsFormat, so the chart guesses from the value when it must.
export function guessOddsFormat(value) {
  return isNumber(value) && Math.abs(value) >= 100 ? "american" : "decimal";
}

// Implied probability (0..1) of one price, before the bookmaker's margin is removed,
// as the platform computes it.
export function impliedProbability(odds, format) {
  if (!isNumber(odds)) return null;
  const kind = format === "american" || format === "decimal" ? format : guessOddsFormat(odds);
  if (kind === "american") {
    if (odds <= -100) return -odds / (-odds + 100);
    if (odds >= 100) return 100 / (odds + 100);
    return null;
  }
  return odds > 1 ? 1 / odds : null;
}

export function formatOdds(value, format) {
  if (!isNumber(value)) return EMPTY;
  if (format === "decimal" || (format !== "american" && guessOddsFormat(value) === "decimal")) {
    return value.toFixed(2);
  }
  const rounded = Math.round(value);
  return rounded > 0 ? `+${rounded}` : String(rounded);
}

// Spread-like lines read best signed (+3.5 / -3.5); a total is a plain number.
export function formatLine(value, market) {
  if (!isNumber(value)) return EMPTY;
  const text = Number.isInteger(value) ? String(value) : value.toFixed(1).replace(/\.0$/, "");
  const signed = !String(market || "").includes("total");
  return signed && value > 0 ? `+${text}` : text;
}

export function formatPercent(probability) {
  return isNumber(probability) ? `${(probability * 100).toFixed(1)}%` : EMPTY;
}

export function formatSigned(value) {
  if (!isNumber(value) || value === 0) return EMPTY;
  const text = Number.isInteger(value) ? String(Math.abs(value)) : Math.abs(value).toFixed(2);
  return value > 0 ? `+${text}` : `\u2212${text}`;
}

const clockFormat = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
});

// Local wall-clock time (HH:MM:SS) of any time the platform sends.
export function formatClock(value) {
  const millis = toEpochMillis(value);
  return millis === null ? EMPTY : clockFormat.format(millis);
}

export function formatCount(value) {
  return isNumber(value) ? Math.round(value).toLocaleString("en-US") : "0";
}
