import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { freePort, NatsServerProcess } from "./processes";

/**
 * A 3-node JetStream cluster on loopback: three nats-server processes with their
 * own ports, cluster routes and store dirs. For tests that kill a node; `destroy()`
 * stops all three and removes their stores.
 */
export class NatsCluster {
  private constructor(readonly nodes: NatsServerProcess[]) {}

  static async start(size = 3): Promise<NatsCluster> {
    const clientPorts: number[] = [];
    const routePorts: number[] = [];
    for (let i = 0; i < size; i++) {
      clientPorts.push(await freePort());
      routePorts.push(await freePort());
    }
    const name = `hs${Date.now().toString(36)}`;
    const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`);
    const nodes = await Promise.all(
      clientPorts.map((port, i) =>
        NatsServerProcess.start({
          port,
          cluster: {
            name,
            serverName: `${name}-n${i}`,
            port: routePorts[i]!,
            routes: routes.filter((_, j) => j !== i),
          },
        }),
      ),
    );
    const cluster = new NatsCluster(nodes);
    await cluster.jetStreamReady();
    return cluster;
  }

  /**
   * Waits until the cluster has elected its JetStream meta leader (the account info
   * answers): before that every JetStream API call times out, and a service started
   * then exits on its first one (the cluster fault test failed so on a loaded machine).
   */
  private async jetStreamReady(timeoutMs = 60_000): Promise<void> {
    const nc = await connect({ servers: this.servers });
    try {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          await (await jetstreamManager(nc, { timeout: 2_000 })).getAccountInfo();
          return;
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`JetStream not ready in the cluster: ${String(err)}`);
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    } finally {
      await nc.close();
    }
  }

  /** every client URL, comma-separated, as NATS_URL takes them */
  get url(): string {
    return this.nodes.map((n) => n.url).join(",");
  }

  get servers(): string[] {
    return this.nodes.map((n) => n.url);
  }

  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.destroy()));
  }
}
