const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * `since` as the admin API and the CLI accept it: an ISO-8601 time, or a duration
 * back from now (`30m`, `2h`, `7d`). Null when it is neither.
 */
export function parseSince(value: string, nowMs: number): Date | null {
  const rel = /^(\d+)([smhd])$/.exec(value.trim());
  if (rel) return new Date(nowMs - Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS]);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : new Date(t);
}
