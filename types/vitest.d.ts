import "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** comma-separated NATS server URLs the tests use */
    natsUrl: string;
    /** a Postgres URL whose user may create and drop databases; its database name is ignored */
    databaseUrl: string;
  }
}
