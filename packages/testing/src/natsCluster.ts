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
    return new NatsCluster(nodes);
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
