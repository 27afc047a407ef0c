import { describe, expect, it } from "vitest";
import { natsConnectionOptions, parseNatsServers } from "./connect";

describe("parseNatsServers", () => {
  it("takes user and password out of the URL, percent-decoded", () => {
    expect(
      parseNatsServers(["nats://gateway:p%40ss@nats-0:4222", "nats://gateway:p%40ss@nats-1:4222"]),
    ).toEqual({
      servers: ["nats://nats-0:4222", "nats://nats-1:4222"],
      user: "gateway",
      pass: "p@ss",
      tls: false,
    });
  });

  it("reads a user without a password as a token, as the other NATS clients do", () => {
    expect(parseNatsServers(["nats://s3cr3t@127.0.0.1:4222"])).toEqual({
      servers: ["nats://127.0.0.1:4222"],
      token: "s3cr3t",
      tls: false,
    });
  });

  it("accepts host:port without a scheme and leaves URLs without credentials alone", () => {
    expect(parseNatsServers(["127.0.0.1:4222", "nats://b:4222"])).toEqual({
      servers: ["nats://127.0.0.1:4222", "nats://b:4222"],
      tls: false,
    });
  });

  it("refuses URLs that carry different credentials", () => {
    expect(() => parseNatsServers(["nats://a:1@x:4222", "nats://b:2@y:4222"])).toThrow(/same ones/);
  });

  it("asks for TLS on a tls:// URL", () => {
    expect(parseNatsServers(["tls://nats:4222"]).tls).toBe(true);
  });
});

describe("natsConnectionOptions", () => {
  it("turns TLS on from the CA file and passes the client certificate", () => {
    const opts = natsConnectionOptions({
      servers: ["nats://nats:4222"],
      name: "x",
      tlsCaFile: "/ca.crt",
      tlsCertFile: "/c.crt",
      tlsKeyFile: "/c.key",
      inboxPrefix: "_INBOX_x",
    });
    expect(opts.tls).toEqual({ caFile: "/ca.crt", certFile: "/c.crt", keyFile: "/c.key" });
    expect(opts.inboxPrefix).toBe("_INBOX_x");
  });

  it("refuses a certificate without its key", () => {
    expect(() =>
      natsConnectionOptions({ servers: ["nats://n:4222"], name: "x", tlsCertFile: "/c.crt" }),
    ).toThrow(/NATS_TLS_KEY/);
  });

  it("refuses a creds file together with credentials in the URL", () => {
    expect(() =>
      natsConnectionOptions({ servers: ["nats://u:p@n:4222"], name: "x", credsFile: "/u.creds" }),
    ).toThrow(/NATS_CREDS/);
  });

  it("connects without TLS or credentials by default", () => {
    const opts = natsConnectionOptions({ servers: ["nats://127.0.0.1:4222"], name: "x" });
    expect(opts.tls).toBeUndefined();
    expect(opts.user).toBeUndefined();
    expect(opts.authenticator).toBeUndefined();
  });
});
