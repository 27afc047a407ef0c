const NEEDS_ESCAPE = /["\\]/;
const ESCAPE = /["\\]/g;

/**
 * A Postgres array literal (`{"a","b",NULL,3}`), to send a whole column of a batch
 * as one text parameter cast in SQL (`$1::text[]`, `unnest(...)`): one parameter per
 * column whatever the number of rows. The driver's own array encoding walks every
 * element through its generic value conversion; this is a loop over strings that
 * rarely need escaping (hot paths: the audit's inserts, the projection's upserts).
 */
export function arrayLiteral(values: ReadonlyArray<string | number | null | undefined>): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ",";
    const v = values[i];
    if (v === null || v === undefined) out += "NULL";
    else if (typeof v === "number") out += String(v);
    else out += `"${NEEDS_ESCAPE.test(v) ? v.replace(ESCAPE, "\\$&") : v}"`;
  }
  return `${out}}`;
}
