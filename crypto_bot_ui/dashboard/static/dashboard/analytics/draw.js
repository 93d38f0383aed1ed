// The analytics page's charts: time series with lightweight-charts (P&L per period, equity and
// drawdown, cumulative P&L), the doughnut and the histograms with Chart.js. Each chart has a table
// or a sentence beside it for screen readers (analytics.js fills those).
import { fmtSigned } from "../format.js";
import { axisText, barData, cumulativeData, equityData, holdingLabel, pnlLabel } from "./model.js";

const TEXT = "#8a95a5";
const GRID = "#20262e";
const BORDER = "#2a313b";
const POS = "#3ecf8e";
const NEG = "#ff6b6b";
const SLICE_COLORS = ["#4c9aff", "#f5a524", "#3ecf8e", "#c77dff", "#ff6b6b", "#2ec4b6", "#ffd166", "#8a95a5",
  "#ef476f", "#06d6a0"];

/** The time-series charts, drawn into their boxes with lightweight-charts (LC). */
export function createTimeCharts(LC, boxes, tzOf) {
  const theme = () => ({
    autoSize: true,
    layout: { background: { type: "solid", color: "#171b21" }, textColor: TEXT, attributionLogo: false },
    grid: { vertLines: { color: GRID }, horzLines: { color: GRID } },
    timeScale: { borderColor: BORDER, timeVisible: true, secondsVisible: false },
    rightPriceScale: { borderColor: BORDER },
    localization: { timeFormatter: (t) => timeText(t, tzOf()) },
  });
  const periods = LC.createChart(boxes.periods, theme());
  const money = { type: "custom", minMove: 0.01, formatter: (v) => axisText(v) };
  const bars = periods.addSeries(LC.HistogramSeries, { priceLineVisible: false, lastValueVisible: false, priceFormat: money });
  const equityChart = LC.createChart(boxes.equity, theme());
  const equity = equityChart.addSeries(LC.LineSeries, { color: "#4c9aff", lineWidth: 2, priceLineVisible: false,
    priceFormat: money });
  const drawdown = equityChart.addSeries(LC.AreaSeries, {
    lineColor: NEG, topColor: "rgba(255,107,107,0.05)", bottomColor: "rgba(255,107,107,0.45)", lineWidth: 1,
    priceLineVisible: false, priceFormat: { type: "custom", minMove: 0.01, formatter: (v) => axisText(v) + " %" },
  }, 1);
  equityChart.panes()[1]?.setHeight(90);
  const cumulativeChart = LC.createChart(boxes.cumulative, theme());
  const cumulative = cumulativeChart.addSeries(LC.BaselineSeries, {
    baseValue: { type: "price", price: 0 }, topLineColor: POS, bottomLineColor: NEG,
    topFillColor1: "rgba(62,207,142,0.25)", topFillColor2: "rgba(62,207,142,0.02)",
    bottomFillColor1: "rgba(255,107,107,0.02)", bottomFillColor2: "rgba(255,107,107,0.25)", priceLineVisible: false,
    priceFormat: money,
  });
  return {
    periods(rows) {
      bars.setData(barData(rows));
      periods.timeScale().fitContent();
      cumulative.setData(cumulativeData(rows));
      cumulativeChart.timeScale().fitContent();
    },
    curve(body) {
      const { equity: e, drawdown: d } = equityData(body.equity);
      equity.setData(e);
      drawdown.setData(d);
      equityChart.timeScale().fitContent();
    },
  };
}

// A chart time (Unix seconds, or a business day {year, month, day}) as people read it, in `tz`.
function timeText(t, tz) {
  if (typeof t === "object" && t !== null) return t.day + "/" + t.month + "/" + t.year;
  if (typeof t === "string") return t;
  return new Intl.DateTimeFormat("en-GB", { timeZone: tz, day: "numeric", month: "short", hour: "2-digit",
    minute: "2-digit", hour12: false }).format(new Date(t * 1000));
}

/** The doughnut and the histograms, with Chart.js (its global `Chart`). */
export function createShapeCharts(Chart, canvases) {
  Chart.defaults.color = TEXT;
  Chart.defaults.borderColor = GRID;
  Chart.defaults.animation = false; // live updates must not wobble
  const axes = { x: { grid: { display: false } }, y: { beginAtZero: true, ticks: { precision: 0 } } };
  const doughnut = new Chart(canvases.allocation, {
    type: "doughnut",
    data: { labels: [], datasets: [{ data: [], backgroundColor: SLICE_COLORS, borderColor: "#171b21", borderWidth: 2 }] },
    options: { maintainAspectRatio: false, cutout: "62%", plugins: { legend: { position: "right" } } },
  });
  const pnl = new Chart(canvases.pnl, {
    type: "bar",
    data: { labels: [], datasets: [{ label: "Closing trades", data: [], backgroundColor: [] }] },
    options: { maintainAspectRatio: false, scales: axes, plugins: { legend: { display: false } } },
  });
  const holding = new Chart(canvases.holding, {
    type: "bar",
    data: { labels: [], datasets: [
      { label: "Wins", data: [], backgroundColor: POS, stack: "s" },
      { label: "Losses", data: [], backgroundColor: NEG, stack: "s" },
      { label: "Even", data: [], backgroundColor: "#5c6673", stack: "s" },
    ] },
    options: { maintainAspectRatio: false, scales: { x: { stacked: true, grid: { display: false } },
      y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
  });
  return {
    allocation(group) {
      const slices = group ? group.slices : [];
      doughnut.data.labels = slices.map((s) => s.name);
      doughnut.data.datasets[0].data = slices.map((s) => Math.max(0, Number(s.value)));
      doughnut.options.plugins.tooltip = { callbacks: { label: (c) => " " + fmtSigned(slices[c.dataIndex].value,
        group.decimals).replace(/^\+/, "") + " " + group.quote_asset } };
      doughnut.update();
    },
    spread(body, decimals) {
      pnl.data.labels = body.pnl.map((b) => pnlLabel(b.low, b.high, decimals));
      pnl.data.datasets[0].data = body.pnl.map((b) => b.count);
      pnl.data.datasets[0].backgroundColor = body.pnl.map((b) => (Number(b.low) >= 0 ? POS : NEG));
      pnl.update();
      holding.data.labels = body.holding.map((b) => holdingLabel(b.low_seconds, b.high_seconds));
      holding.data.datasets[0].data = body.holding.map((b) => b.wins);
      holding.data.datasets[1].data = body.holding.map((b) => b.losses);
      holding.data.datasets[2].data = body.holding.map((b) => b.count - b.wins - b.losses);
      holding.update();
    },
  };
}
