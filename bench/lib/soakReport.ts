/**
 * What a soak leaves behind: its BENCHMARKS.md section (every figure from the run's
 * report, nothing typed by hand) and an SVG plot of p99 latency per window and RSS
 * per process over time, drawn here without a plotting library.
 */
import type { SoakReport, SoakWindow } from "./soak";

const P99_LIMIT_MS = 100;
const DRIFT_LIMIT = 0.1;
const NATS = "nats-server";

const fmt = (x: number | null | undefined, digits = 1) =>
  x === null || x === undefined || Number.isNaN(x)
    ? "–"
    : x.toLocaleString("en-US", { maximumFractionDigits: digits });

/** Windows whose p99 (200 → row) is above the limit, and whether each held a kill. */
export function slowWindows(windows: SoakWindow[]) {
  return windows.filter((w) => w.p99_ms !== null && w.p99_ms > P99_LIMIT_MS);
}

export function soakSection(
  r: SoakReport,
  meta: { command: string; machine: string; load: string; svg: string; seconds: number },
): string {
  const j = r.json;
  const slow = slowWindows(j.windows);
  const slowWithoutKill = slow.filter((w) => w.kill === null);
  const drifts = Object.entries(j.rss_mib);
  // nats-server is judged apart: it keeps every message id of the duplicate window
  const overDrift = drifts.filter(([s, m]) => s !== NATS && m.drift > DRIFT_LIMIT);
  const nats = j.rss_mib[NATS];
  const verdicts = [
    `${j.lost} lost, ${j.doubled} doubled beyond the crash window (${fmt(j.crash_window, 0)} ms: the longest a repeated notification's first copy came before the kill that repeated it).`,
    slow.length === 0
      ? `No window's p99 (200 → row) is above ${P99_LIMIT_MS} ms.`
      : `Windows with p99 (200 → row) above ${P99_LIMIT_MS} ms: ${slow.map((w) => `${w.from_min}–${w.to_min} min (${fmt(w.p99_ms)} ms, ${w.kill ? `kill: ${w.kill}` : "no kill"})`).join("; ")}${slowWithoutKill.length ? ` — ${slowWithoutKill.length} without a kill` : " — each holds a kill"}.`,
    overDrift.length === 0
      ? `RSS drift ≤ ${DRIFT_LIMIT * 100} % for every hookstream service.`
      : `RSS drift above ${DRIFT_LIMIT * 100} %: ${overDrift.map(([s, m]) => `${s} ${fmt(m.drift * 100)} %`).join(", ")}.`,
    ...(nats
      ? [
          `nats-server's RSS went from ${fmt(nats.warm, 0)} to ${fmt(nats.end, 0)} MiB (${fmt(nats.drift * 100)} %) while its streams came to hold ${fmt(j.nats_messages_with_ids, 0)} messages, each published with a \`Nats-Msg-Id\` that it keeps in memory for the duplicate window (2 h by default, longer than the run): section "nats-server memory" measures what one id costs.`,
        ]
      : []),
  ];
  const killRows = r.kills.map((k) => `| ${k.atMin} | ${k.target} | ${fmt(k.downMs / 1000, 1)} |`).join("\n");
  return `## Soak: ${j.minutes} minutes at ${j.rate} events/s under rotating SIGKILLs

Command: \`${meta.command}\` (started ${r.startedAt}, ${meta.load}; ${Math.round(meta.seconds / 60)} min in all with the start and the drain).
Machine: ${meta.machine}.
The whole system as \`npm start\` runs it (every service of the catalog, compiled, with npm start's node flags, LOG_LEVEL=info), its own nats-server (killed once and restarted on the same store) and its own database on the local Postgres; a fake OpenAI API answering at once; a receiver behind \`NOTIFY_URLS\`. Signed events of every type OpenAI sends, in turn, each retried as OpenAI retries until it gets its 200. Machine-readable: [bench/soak.json](bench/soak.json).

${verdicts.map((v) => `- ${v}`).join("\n")}

| check | result | found |
| --- | --- | --- |
${r.checks.map((c) => `| ${c.name} | ${c.ok ? "ok" : "**FAILED**"} | ${c.detail.replaceAll("|", "/")} |`).join("\n")}

| sent | accepted | audited | lost | doubled | notifications expected | received | repeated |
| --- | --- | --- | --- | --- | --- | --- | --- |
| ${j.sent} | ${j.accepted} | ${j.audited} | ${j.lost} | ${j.doubled} | ${j.notifications.expected} | ${j.notifications.received} | ${j.notifications.repeated} |

![p99 latency per window and RSS per process over the soak](${meta.svg})

| from min | to min | events/s | p50 200 → row ms | p99 200 → row ms | p99 event → notification ms | max consumer lag | kill |
| --- | --- | --- | --- | --- | --- | --- | --- |
${j.windows.map((w) => `| ${w.from_min} | ${w.to_min} | ${fmt(w.rate)} | ${fmt(w.p50_ms)} | ${fmt(w.p99_ms)} | ${fmt(w.notify_p99_ms)} | ${w.max_lag} | ${w.kill ?? ""} |`).join("\n")}

| process | RSS after warm-up MiB | RSS at the end MiB | drift | peak heap MiB |
| --- | --- | --- | --- | --- |
${drifts.map(([s, m]) => `| ${s} | ${fmt(m.warm, 0)} | ${fmt(m.end, 0)} | ${fmt(m.drift * 100)} % | ${fmt(peakHeap(r, s), 0)} |`).join("\n")}

| kill at min | process | until ready again s |
| --- | --- | --- |
${killRows}

- 200 → row: from the sender's 200 to the first poll (every 5 ms, or as soon as the last answer came) that finds the row: an upper bound. Event → notification: from when the event first left the sender to its notification's arrival, retries and restarts included. Consumer lag: the largest pending + ack-pending count of any durable, sampled every 2 s.
- A repeated notification counts as the crash window's when its first copy came before a kill, at most one handler ack wait (30 s) before it, and its second after it; any other repeat counts as doubled. Drift: RSS at the end of sending against RSS after the warm-up, per process (a process killed since has a new RSS).
`;
}

function peakHeap(r: SoakReport, service: string): number | null {
  let max: number | null = null;
  for (const m of r.memory) {
    const h = m.heap[service];
    if (h !== null && h !== undefined && (max === null || h > max)) max = h;
  }
  return max;
}

const COLORS = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

/** Two panels over the run's minutes: p99 per window (200 → row, event → notification), RSS per process. */
export function soakSvg(r: SoakReport): string {
  const W = 900;
  const H = 560;
  const left = 70;
  const right = 190;
  const plotW = W - left - right;
  const panelH = 200;
  const top1 = 40;
  const top2 = top1 + panelH + 70;
  const minutes = r.json.minutes;
  const x = (min: number) => left + (min / minutes) * plotW;
  const esc = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;");
  const parts: string[] = [];
  const axis = (top: number, max: number, unit: string, title: string) => {
    parts.push(`<text x="${left}" y="${top - 12}" font-size="14" font-weight="bold">${esc(title)}</text>`);
    parts.push(
      `<rect x="${left}" y="${top}" width="${plotW}" height="${panelH}" fill="none" stroke="#999" stroke-width="1"/>`,
    );
    for (let k = 0; k <= 4; k++) {
      const v = (max * k) / 4;
      const yy = top + panelH - (panelH * k) / 4;
      parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${yy}" y2="${yy}" stroke="#eee"/>`);
      parts.push(
        `<text x="${left - 6}" y="${yy + 4}" font-size="11" text-anchor="end">${fmt(v, v < 10 ? 1 : 0)}</text>`,
      );
    }
    parts.push(
      `<text x="16" y="${top + panelH / 2}" font-size="11" transform="rotate(-90 16 ${top + panelH / 2})" text-anchor="middle">${unit}</text>`,
    );
    const step = minutes >= 30 ? 10 : minutes >= 10 ? 2 : minutes >= 4 ? 1 : 0.5;
    for (let m = 0; m <= minutes + 1e-9; m += step) {
      parts.push(
        `<text x="${x(m)}" y="${top + panelH + 16}" font-size="11" text-anchor="middle">${fmt(m, 1)}</text>`,
      );
    }
    parts.push(
      `<text x="${left + plotW / 2}" y="${top + panelH + 32}" font-size="11" text-anchor="middle">minutes</text>`,
    );
    for (const k of r.kills) {
      parts.push(
        `<line x1="${x(k.atMin)}" x2="${x(k.atMin)}" y1="${top}" y2="${top + panelH}" stroke="#c00" stroke-dasharray="3,3"/>`,
      );
    }
  };
  const line = (points: Array<[number, number]>, color: string, top: number, max: number) => {
    if (points.length === 0) return;
    const y = (v: number) => top + panelH - (Math.min(v, max) / max) * panelH;
    const d = points
      .map(([m, v], i) => `${i === 0 ? "M" : "L"}${x(m).toFixed(1)},${y(v).toFixed(1)}`)
      .join(" ");
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"/>`);
    for (const [m, v] of points)
      parts.push(`<circle cx="${x(m).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="${color}"/>`);
  };
  const legend = (items: Array<[string, string]>, top: number) =>
    items.forEach(([label, color], i) => {
      const yy = top + 12 + i * 16;
      parts.push(
        `<line x1="${left + plotW + 12}" x2="${left + plotW + 30}" y1="${yy - 4}" y2="${yy - 4}" stroke="${color}" stroke-width="2"/>`,
      );
      parts.push(`<text x="${left + plotW + 36}" y="${yy}" font-size="11">${esc(label)}</text>`);
    });

  // p99 per window, at the window's middle
  const mid = (w: SoakWindow) => (w.from_min + w.to_min) / 2;
  const rowP99 = r.json.windows
    .filter((w) => w.p99_ms !== null)
    .map((w) => [mid(w), w.p99_ms as number] as [number, number]);
  const noteP99 = r.json.windows
    .filter((w) => w.notify_p99_ms !== null)
    .map((w) => [mid(w), w.notify_p99_ms as number] as [number, number]);
  const maxLat = niceMax(Math.max(1, ...rowP99.map((p) => p[1]), ...noteP99.map((p) => p[1])));
  axis(top1, maxLat, "ms", "p99 per window (red dashes: kills)");
  line(rowP99, COLORS[0] as string, top1, maxLat);
  line(noteP99, COLORS[1] as string, top1, maxLat);
  legend(
    [
      ["200 → audit row", COLORS[0] as string],
      ["event → notification", COLORS[1] as string],
    ],
    top1,
  );

  // RSS per process over time
  const names = [...new Set(r.memory.flatMap((m) => Object.keys(m.rss)))];
  const maxRss = niceMax(
    Math.max(1, ...r.memory.flatMap((m) => Object.values(m.rss).filter((v): v is number => v !== null))),
  );
  axis(top2, maxRss, "MiB", "RSS per process");
  names.forEach((n, i) => {
    const pts = r.memory
      .filter((m) => m.rss[n] !== null && m.rss[n] !== undefined)
      .map((m) => [m.atMin, m.rss[n] as number] as [number, number]);
    line(pts, COLORS[i % COLORS.length] as string, top2, maxRss);
  });
  legend(
    names.map((n, i) => [n, COLORS[i % COLORS.length] as string]),
    top2,
  );

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" role="img">
<title>hookstream soak: p99 latency and RSS per service over time</title>
<rect width="${W}" height="${H}" fill="#fff"/>
${parts.join("\n")}
</svg>
`;
}

/** 1, 2 or 5 times a power of ten, at least x */
function niceMax(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}
