import type { Pool } from "undici";

/**
 * One JSON POST through undici's pool with a bare handler (its dispatch, as the delivery
 * service sends: no response stream; the answer's body is dropped): `done` is told whether
 * it was answered 2xx.
 */
export function dispatchPost(
  pool: Pool,
  path: string,
  body: string | Uint8Array,
  done: (ok: boolean) => void,
) {
  let status = 0;
  pool.dispatch(
    { path, method: "POST", headers: { "content-type": "application/json" }, body },
    {
      onRequestStart() {},
      onResponseStart(_c, statusCode) {
        status = statusCode;
      },
      onResponseEnd() {
        done(status >= 200 && status < 300);
      },
      onResponseError() {
        done(false);
      },
    },
  );
}
