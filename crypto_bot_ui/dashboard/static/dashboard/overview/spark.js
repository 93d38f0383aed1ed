// Each bot's equity sparkline: the points it keeps (the server's history, then the live equity at
// most every 10 s, the last 60) and the SVG path drawn from them. The figures become Numbers only
// to place the line; no money is shown from them. Pure (no DOM); node --test covers it.

import { compareDecimal } from "./sort.js";

export const SPARK_POINTS = 60;
export const SPARK_EVERY_MS = 10000;
export const SPARK_WIDTH = 120;
export const SPARK_HEIGHT = 32;

/** A sparkline's points from the page's history (decimal strings, oldest first): the last `max`. */
export function newSpark(values, max = SPARK_POINTS) {
  const points = (Array.isArray(values) ? values : []).filter((v) => Number.isFinite(Number(v)) && v !== "" && v !== null);
  return { points: points.slice(-max), at: 0 };
}

/** The sparkline after a live `equity` at time `now` (ms): the same object when it is too soon after
 *  the last point added live (or the value is no number), else a new one with it appended. */
export function nextSpark(spark, equity, now, every = SPARK_EVERY_MS, max = SPARK_POINTS) {
  if (equity === null || equity === undefined || equity === "" || !Number.isFinite(Number(equity))) return spark;
  if (spark.at && now - spark.at < every) return spark;
  return { points: spark.points.concat([String(equity)]).slice(-max), at: now };
}

const r2 = (n) => Math.round(n * 100) / 100;

/** The SVG path (`d`) of `values` in a `width`×`height` box, `pad` inside each edge, scaled to their
 *  own range (a flat series is a line across the middle), and which way it went: "up", "down",
 *  "flat", or "none" with an empty path when there is no point. */
export function sparkPath(values, width = SPARK_WIDTH, height = SPARK_HEIGHT, pad = 2) {
  const kept = (values || []).filter((v) => v !== null && v !== "" && Number.isFinite(Number(v)));
  const ys = kept.map(Number);
  if (!ys.length) return { d: "", trend: "none" };
  const min = Math.min(...ys);
  const max = Math.max(...ys);
  const inner = height - 2 * pad;
  const y = (v) => r2(max === min ? height / 2 : pad + ((max - v) / (max - min)) * inner);
  if (ys.length === 1) return { d: "M" + pad + "," + y(ys[0]) + "L" + (width - pad) + "," + y(ys[0]), trend: "flat" };
  const step = (width - 2 * pad) / (ys.length - 1);
  const d = ys.map((v, i) => (i ? "L" : "M") + r2(pad + i * step) + "," + y(v)).join("");
  const c = compareDecimal(kept[kept.length - 1], kept[0]); // exact, as the strings are
  return { d, trend: c > 0 ? "up" : c < 0 ? "down" : "flat" };
}
