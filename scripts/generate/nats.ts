import {
  CONSUMERS,
  type DurableName,
  makeTopology,
  natsPasswordVar,
  natsPermissions,
  natsRoles,
  type Topology,
} from "@hookstream/contracts";
import { generatedHeader } from "./text";

/** accounts.conf names the contract streams and subjects: the namespace "". */
const topology: Topology = makeTopology("");

const DURABLE_NAMES = Object.keys(CONSUMERS) as DurableName[];

/** nats-server config strings: quoted, as every subject with `$` or `>` must be. */
const q = (s: string) => `"${s}"`;

/** deploy/nats/accounts.conf: the HOOKSTREAM account and one user per role of the catalog. */
export function accountsConf(): string {
  const users = natsRoles().map((role) => {
    const service = role.service && role.service !== role.user ? ` (service ${role.service})` : "";
    const head = [`      # ${role.user}${service}: ${role.summary}`];
    const password = `$${natsPasswordVar(role.user)}`;
    if (role.rights === "everything") {
      return [...head, `      { user: ${role.user}, password: ${password} }`].join("\n");
    }
    const grant = (d: DurableName) => ({ stream: topology.streams[CONSUMERS[d].stream], durable: d });
    const durables = role.durables.map(grant);
    const others = DURABLE_NAMES.filter((d) => !role.durables.includes(d)).map(grant);
    const perms = natsPermissions(role.user, role.rights, durables, topology, others);
    const list = (groups: typeof perms.publish) =>
      groups.flatMap((g) => [`              # ${g.why}`, ...g.subjects.map((s) => `              ${q(s)}`)]);
    const allow = list(perms.publish);
    const deny = perms.deny.length === 0 ? [] : ["            deny: [", ...list(perms.deny), "            ]"];
    return [
      ...head,
      "      {",
      `        user: ${role.user}`,
      `        password: ${password}`,
      "        permissions: {",
      "          publish: {",
      "            allow: [",
      ...allow,
      "            ]",
      ...deny,
      "          }",
      `          subscribe: { allow: [${perms.subscribe.map(q).join(", ")}] }`,
      "        }",
      "      }",
    ].join("\n");
  });
  return `${generatedHeader("#")}
#
# hookstream's NATS account and its users, one per service role (the catalog's
# \`nats\` of each service: its user and rights, as data), plus the operators'.
#
# Included by the server config (deploy/nats/nats.conf here, the Helm chart's
# \`config.merge\` in values.yaml). Passwords are never in this file: each is an
# environment variable of the nats-server process (nats-server resolves \`$NAME\`
# from the environment when the config does not define it), filled from a
# Kubernetes Secret in the cluster (deploy/README.md). A bcrypt hash
# (\`nats server passwd\`) works in the variable as well as the clear text.
# nats-server refuses to start when one of these variables is unset.
#
# Each service publishes only its own subjects and reads only the streams it
# consumes. The JetStream API is a set of subjects too, so the same rules say
# which streams a role may create, read or delete from:
#   $JS.API.INFO, $JS.API.STREAM.INFO.*, $JS.API.CONSUMER.INFO.*.*
#       metadata only (readiness, consumer-lag gauges): every role
#   $JS.API.CONSUMER.CREATE|DURABLE.CREATE|MSG.NEXT.<stream>.<durable>, $JS.ACK.<stream>.<durable>.>
#       its own durable consumers (the service's \`durables\`): create or update, pull, acknowledge
#   _INBOX_<role>.>
#       replies (publish acks, API answers, pulled messages) come back on the
#       role's own inbox prefix: the service sets NATS_INBOX_PREFIX=_INBOX_<role>,
#       so no role can subscribe to another's replies.
# No long-running service may create, update, delete or purge a stream, nor delete
# a durable consumer: the one-shot provisioning step (\`hookstream provision\`, the
# hookstream-provision Job) creates and updates the streams as the \`admin\` user,
# and the services only verify them. The audit writer reads untrusted payloads
# and deletes nothing; the admin service (\`admin-service\`), which answers only
# authenticated operators, holds the single-message deletes of erasure and redrive.
#
# Handlers: one user per domain rather than one shared user, so a handler can
# publish only its own outcomes and dead letters (\`outcomes.batch.>\`).

accounts {
  HOOKSTREAM {
    jetstream: enabled
    users: [
${users.join("\n\n")}
    ]
  }
}
`;
}

/** The Helm values' environment of nats-server: one password variable per user, from Secret hookstream-nats-users. */
export function natsValuesEnv(): string {
  return natsRoles()
    .map(
      (r) => `    ${natsPasswordVar(r.user)}:
      valueFrom:
        secretKeyRef: { name: hookstream-nats-users, key: ${r.user} }`,
    )
    .join("\n");
}
