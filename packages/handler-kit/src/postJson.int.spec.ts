import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { PermanentError, RetryableError } from "@hookstream/messaging";
import { maskUrl, postOutbound } from "@hookstream/runtime";
import { afterAll, describe, expect, it } from "vitest";
import { postJson } from "./postJson";

/** Outbound receivers of the test's own, on free loopback ports. */
const servers: http.Server[] = [];
async function receiver(handle: http.RequestListener): Promise<string> {
  const server = http.createServer(handle);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const SECRET_PATH = "/services/T0001/B0001/s3cr3tp4th";

describe("outbound POSTs (postJson, postOutbound)", () => {
  it("treats a redirect as a failed attempt and never sends the body where it points", async () => {
    const reached: string[] = [];
    const elsewhere = await receiver((req, res) => {
      reached.push(`${req.method} ${req.url}`);
      res.end("ok");
    });
    const redirecting = await receiver((_req, res) => {
      res.writeHead(307, { location: `${elsewhere}/steal` }).end();
    });
    const statuses: number[] = [];
    const err = await postJson(
      `${redirecting}${SECRET_PATH}`,
      { a: 1 },
      {
        idempotencyKey: "evt_1",
        timeoutMs: 5_000,
        onStatus: (s) => statuses.push(s),
      },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as Error).message).toMatch(
      /answered 307 \(a redirect to http:\/\/127\.0\.0\.1:\d+\/\*\*\*\)/,
    );
    expect(statuses).toEqual([307]);
    expect(reached).toEqual([]);
  });

  it("shows the URL with its path masked in every failure", async () => {
    const failing = await receiver((_req, res) => {
      res.writeHead(500).end("no");
    });
    const refusing = await receiver((_req, res) => {
      res.writeHead(404).end();
    });
    for (const [url, kind] of [
      [`${failing}${SECRET_PATH}?token=abc`, RetryableError],
      [`${refusing}${SECRET_PATH}`, PermanentError],
      ["http://127.0.0.1:1/services/T/B/s3cr3tp4th", RetryableError],
    ] as const) {
      const err = await postJson(url, {}, { idempotencyKey: "evt_2", timeoutMs: 5_000 }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(kind);
      expect((err as Error).message).toContain(maskUrl(url));
      expect((err as Error).message).not.toContain("s3cr3t");
      expect((err as Error).message).not.toContain("token=abc");
    }
    expect(maskUrl(`https://user:pw@hooks.example.com${SECRET_PATH}`)).toBe("https://hooks.example.com/***");
    expect(maskUrl("https://hooks.example.com/")).toBe("https://hooks.example.com/");
  });

  it("reads at most 64 KiB of an answer, even one that never ends", async () => {
    const endless = await receiver((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      const chunk = Buffer.alloc(256 * 1024, 97);
      const more = () => {
        while (!res.destroyed && res.write(chunk)) {
          /* until the socket pushes back */
        }
        if (!res.destroyed) res.once("drain", more);
      };
      more();
    });
    const res = await postOutbound({ url: `${endless}/x`, body: "{}", headers: {}, timeoutMs: 30_000 });
    expect(res).toMatchObject({ ok: true, status: 200, truncated: true });
    expect(res.ok && res.body.length).toBe(64 * 1024);
  });

  it("sends a request once more on a new connection when the kept-alive one it went out on is closed under it", async () => {
    // a receiver that answers the first request of each connection and closes the
    // connection, unanswered, on the second: as a receiver closing an idle connection
    // just as the next request arrives
    const requests: number[] = [];
    const server = net.createServer((socket) => {
      let n = 0;
      let buffered = "";
      socket.on("data", (chunk) => {
        buffered += chunk.toString("latin1");
        for (;;) {
          const end = buffered.indexOf("\r\n\r\n");
          if (end < 0) return;
          const length = Number(/content-length: *(\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
          if (buffered.length < end + 4 + length) return;
          buffered = buffered.slice(end + 4 + length);
          n++;
          requests.push(n);
          if (n === 1)
            socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok");
          else socket.destroy();
        }
      });
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
    try {
      const first = await postOutbound({ url, body: "{}", headers: {}, timeoutMs: 5_000 });
      // the connection idle long enough to be taken again (and looked at before)
      await new Promise((r) => setTimeout(r, 50));
      const second = await postOutbound({ url, body: "{}", headers: {}, timeoutMs: 5_000 });
      expect([first.ok, second.ok]).toEqual([true, true]);
      // the second went out on the first's connection, was dropped, and was answered on a new one
      expect(requests).toEqual([1, 2, 1]);
    } finally {
      server.close();
    }
  });

  it("sends the credentials of a URL that carries them as Basic authorization, and shows them nowhere", async () => {
    const seen: Array<string | undefined> = [];
    const url = await receiver((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(req.headers.authorization ? 500 : 200).end();
    });
    const withCredentials = url.replace("http://", "http://hook%40user:p%3Ass@");
    const res = await postOutbound({
      url: `${withCredentials}/x`,
      body: "{}",
      headers: {},
      timeoutMs: 5_000,
    });
    expect(seen).toEqual([`Basic ${Buffer.from("hook@user:p:ss").toString("base64")}`]);
    expect(res.ok).toBe(false);
    expect(!res.ok && res.message).not.toMatch(/hook|p%3Ass|p:ss/);
  });

  it("says so when no answer comes in time", async () => {
    const silent = await receiver(() => {
      /* never answers */
    });
    const res = await postOutbound({
      url: `${silent}${SECRET_PATH}`,
      body: "{}",
      headers: {},
      timeoutMs: 300,
    });
    expect(res).toMatchObject({ ok: false, reason: "timeout", status: null });
    expect(!res.ok && res.message).toBe(`POST ${silent}/*** got no answer within 300 ms`);
  });
});
