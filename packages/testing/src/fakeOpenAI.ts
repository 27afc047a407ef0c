import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  at: number;
}

type Kind = "fine_tuning_job" | "batch" | "response";

/**
 * A stand-in for the OpenAI API (the only thing tests may fake: we do not run it),
 * used through the official `openai` SDK with `baseURL`. Answers
 * `GET /v1/fine_tuning/jobs/:id`, `/v1/batches/:id` and `/v1/responses/:id` with
 * objects shaped like the SDK's types; switches make it fail or slow down.
 *
 * Projects, as OpenAI scopes API keys: once `project(name, key)` is called, a request
 * must carry a known project's key (else 401, as for a wrong key), and an object
 * registered for a project is found only with that project's key (else 404, as
 * OpenAI answers a job of another project). Objects given no project are everyone's.
 */
export class FakeOpenAI {
  readonly requests: RecordedRequest[] = [];
  private readonly objects = new Map<
    string,
    { project: string | undefined; body: Record<string, unknown> }
  >();
  private readonly projectOfKey = new Map<string, string>();
  private failures: Array<{ status: number; path?: string }> = [];
  private delayMs = 0;
  private everyId = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    /** false: requests are answered but not kept (a long load would fill memory with them) */
    private readonly record: boolean,
  ) {}

  static async start(opts: { record?: boolean } = {}): Promise<FakeOpenAI> {
    let fake: FakeOpenAI | undefined;
    const server = createServer((req, res) => fake!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    fake = new FakeOpenAI(server, (server.address() as AddressInfo).port, opts.record ?? true);
    return fake;
  }

  /**
   * Answers for any id an object was not set for, as the API answers for an object that
   * exists: a running fine-tuning job, a completed batch, a completed response (soak and
   * benchmarks send events of ids nobody set up).
   */
  answerEveryId(): void {
    this.everyId = true;
  }

  /** the default object for a path of an id nobody set up (answerEveryId) */
  private anyObject(path: string) {
    const m = /^\/v1\/(fine_tuning\/jobs|batches|responses)\/([^/]+)$/.exec(path);
    if (!m) return undefined;
    const id = decodeURIComponent(m[2] as string);
    if (m[1] === "fine_tuning/jobs") this.fineTuningJob(id);
    else if (m[1] === "batches") this.batch(id);
    else this.response(id);
    const obj = this.objects.get(path);
    // kept only while it answers: an id is asked for once or twice, and never again
    this.objects.delete(path);
    return obj;
  }

  /** what OPENAI_BASE_URL should be */
  get baseURL(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  /** the next `count` requests (to `path` if given) fail with `status` */
  failNext(count: number, status: number, path?: string): void {
    for (let i = 0; i < count; i++) this.failures.push({ status, path });
  }

  /** a project and its API key: from now on every request needs a project's key */
  project(name: string, apiKey: string): void {
    this.projectOfKey.set(apiKey, name);
  }

  /** every answer waits this long first */
  setDelay(ms: number): void {
    this.delayMs = ms;
  }

  fineTuningJob(id: string, fields: Record<string, unknown> = {}, project?: string): void {
    this.put(`/v1/fine_tuning/jobs/${id}`, project, {
      id,
      object: "fine_tuning.job",
      created_at: 1_750_000_000,
      error: null,
      fine_tuned_model: null,
      finished_at: null,
      hyperparameters: { batch_size: "auto", learning_rate_multiplier: "auto", n_epochs: "auto" },
      model: "gpt-4o-mini-2024-07-18",
      organization_id: "org-test",
      result_files: [],
      seed: 42,
      status: "running",
      trained_tokens: null,
      training_file: "file-train",
      validation_file: null,
      ...fields,
    });
  }

  batch(id: string, fields: Record<string, unknown> = {}, project?: string): void {
    this.put(`/v1/batches/${id}`, project, {
      id,
      object: "batch",
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
      created_at: 1_750_000_000,
      input_file_id: "file-in",
      status: "completed",
      output_file_id: "file-out",
      error_file_id: null,
      request_counts: { completed: 10, failed: 0, total: 10 },
      ...fields,
    });
  }

  response(
    id: string,
    text = "Hello from the fake model.",
    fields: Record<string, unknown> = {},
    project?: string,
  ): void {
    this.put(`/v1/responses/${id}`, project, {
      id,
      object: "response",
      created_at: 1_750_000_000,
      status: "completed",
      model: "gpt-4o",
      output: [
        {
          type: "message",
          id: `msg_${id}`,
          role: "assistant",
          status: "completed",
          content: [{ type: "output_text", text, annotations: [] }],
        },
      ],
      parallel_tool_calls: true,
      tool_choice: "auto",
      tools: [],
      ...fields,
    });
  }

  private put(path: string, project: string | undefined, body: Record<string, unknown>): void {
    this.objects.set(path, { project, body });
  }

  /** requests made for one object, e.g. `count("/v1/batches/b1")` */
  count(path: string): number {
    return this.requests.filter((r) => r.path === path).length;
  }

  private async handle(req: IncomingMessage, res: import("node:http").ServerResponse): Promise<void> {
    const path = (req.url ?? "").split("?")[0] ?? "";
    if (this.record)
      this.requests.push({ method: req.method ?? "GET", path, headers: req.headers, at: Date.now() });
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const i = this.failures.findIndex((f) => f.path === undefined || f.path === path);
    if (i >= 0) {
      const [failure] = this.failures.splice(i, 1);
      return send(failure!.status, {
        error: { message: `fake failure ${failure!.status}`, type: "server_error" },
      });
    }
    let project: string | undefined;
    if (this.projectOfKey.size > 0) {
      const key = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? "";
      project = this.projectOfKey.get(key);
      if (project === undefined) {
        return send(401, {
          error: {
            message: "Incorrect API key provided.",
            type: "invalid_request_error",
            code: "invalid_api_key",
          },
        });
      }
    }
    const obj =
      req.method !== "GET"
        ? undefined
        : (this.objects.get(path) ?? (this.everyId ? this.anyObject(path) : undefined));
    // another project's object is as unknown as a missing one
    if (!obj || (obj.project !== undefined && obj.project !== project))
      return send(404, { error: { message: `No such object: ${path}`, type: "invalid_request_error" } });
    send(200, obj.body);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}

export type { Kind as FakeOpenAIKind };
