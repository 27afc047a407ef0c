/**
 * The DDL of `fine_tune_jobs`, for the migration and for the rebuild table beside it:
 * every index and constraint is named after the table, so a swap renames them too.
 */
export function jobsTableDdl(table: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${table} (
        openai_job_id text NOT NULL,
        status text NOT NULL,
        model text NULL,
        fine_tuned_model text NULL,
        trained_tokens bigint NULL,
        error jsonb NULL,
        created_at timestamptz NULL,
        finished_at timestamptz NULL,
        last_event_id text NOT NULL,
        last_event_at timestamptz NOT NULL,
        last_stream_seq bigint NOT NULL,
        status_event_at timestamptz NOT NULL,
        status_stream_seq bigint NOT NULL,
        version integer NOT NULL DEFAULT 1,
        updated_at timestamptz NOT NULL DEFAULT now(),
        project text NULL,
        CONSTRAINT ${table}_pkey PRIMARY KEY (openai_job_id)
      )`,
    `CREATE INDEX IF NOT EXISTS ${table}_status_idx ON ${table} (status)`,
    `CREATE INDEX IF NOT EXISTS ${table}_model_idx ON ${table} (model)`,
    `CREATE INDEX IF NOT EXISTS ${table}_project_idx ON ${table} (project)`,
    `CREATE INDEX IF NOT EXISTS ${table}_listing_idx ON ${table} ((COALESCE(created_at, 'epoch'::timestamptz)) DESC, openai_job_id DESC)`,
  ];
}

/** Renames a table made by jobsTableDdl with its constraint and indexes. */
export function renameJobsTableSql(from: string, to: string): string[] {
  return [
    `ALTER TABLE ${from} RENAME TO ${to}`,
    `ALTER TABLE ${to} RENAME CONSTRAINT ${from}_pkey TO ${to}_pkey`,
    ...["status_idx", "model_idx", "project_idx", "listing_idx"].map(
      (i) => `ALTER INDEX ${from}_${i} RENAME TO ${to}_${i}`,
    ),
  ];
}
