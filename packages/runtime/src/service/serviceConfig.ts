import { adminEnv, commonEnv, databaseEnv, optionalStringVar, portVar } from "@hookstream/config";
import { SERVICES, type ServiceName } from "@hookstream/contracts";
import { z } from "zod";

/** `AUDIT_HOST` for `AUDIT_PORT`: a service's own bind address, overriding HTTP_HOST. */
export function hostVarOf(portVar: string): string {
  return portVar.replace(/_PORT$/, "_HOST");
}

const baseShape = { ...commonEnv, ...databaseEnv, ...adminEnv };
const baseSchema = z.object(baseShape);

/** The variables every service has: common, database, admin. */
export type BaseConfig = z.infer<typeof baseSchema>;

/** A service's parsed environment: the base variables, its own, and its port and host. */
export type ServiceConfig<S extends z.ZodRawShape = Record<never, never>> = BaseConfig &
  z.infer<z.ZodObject<S>> &
  Record<string, unknown>;

/** A check across a service's parsed variables; it reports each problem with `issue(variable, message)`. */
export type EnvCheck = (
  config: Record<string, unknown>,
  issue: (variable: string, message: string) => void,
) => void;

/**
 * The zod schema of one service's environment: the common, database and admin
 * variables, its port and host variables from the catalog, and its own. (A service
 * without a database parses DATABASE_URL too and never uses it: one shape for all.)
 * `check` runs across the parsed variables (zod runs it once each variable is valid).
 */
export function serviceConfigSchema<S extends z.ZodRawShape>(
  name: ServiceName,
  own: S,
  check?: EnvCheck,
): z.ZodType<ServiceConfig<S>> {
  const spec = SERVICES[name];
  const schema = z.object({
    ...baseShape,
    ...own,
    [spec.portVar]: portVar(spec.defaultPort),
    [hostVarOf(spec.portVar)]: optionalStringVar(),
  });
  const checked = check
    ? schema.superRefine((config, ctx) =>
        check(config, (variable, message) => ctx.addIssue({ code: "custom", path: [variable], message })),
      )
    : schema;
  return checked as unknown as z.ZodType<ServiceConfig<S>>;
}

/** The address and port a service listens on, from its catalog variables. */
export function listenAddress(
  name: ServiceName,
  config: Record<string, unknown>,
): { host: string; port: number } {
  const spec = SERVICES[name];
  const host = config[hostVarOf(spec.portVar)];
  return {
    host: typeof host === "string" && host ? host : String(config.HTTP_HOST ?? "0.0.0.0"),
    port: Number(config[spec.portVar] ?? spec.defaultPort),
  };
}
