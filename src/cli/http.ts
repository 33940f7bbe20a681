// A small API client: bearer auth, JSON, and retries with backoff for 5xx, 429 and network errors.
export class UnreachableError extends Error {}
export class AuthError extends Error {}

export interface ApiResponse {
  status: number;
  body: unknown;
}

export interface ClientOptions {
  retries?: number;
  baseDelayMs?: number;
}

export class ApiClient {
  private readonly retries: number;
  private readonly baseDelayMs: number;

  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string,
    opts: ClientOptions = {},
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.retries = opts.retries ?? 5;
    this.baseDelayMs = opts.baseDelayMs ?? 250;
  }

  async request(method: string, route: string, body?: unknown): Promise<ApiResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await fetch(`${this.baseUrl}${route}`, {
          method,
          headers: {
            authorization: `Bearer ${this.apiKey}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          // Not JSON: keep the text for messages.
        }
        if (res.status === 401 || res.status === 403) {
          throw new AuthError(`the server refused the API key (${res.status}: ${messageOf(parsed)})`);
        }
        const retryable = res.status >= 500 || res.status === 429;
        if (!retryable || attempt >= this.retries) return { status: res.status, body: parsed };
      } catch (e) {
        if (e instanceof AuthError) throw e;
        if (attempt >= this.retries) {
          const cause = (e as Error & { cause?: Error }).cause?.message ?? (e as Error).message;
          throw new UnreachableError(`cannot reach ${this.baseUrl}: ${cause}`);
        }
      }
      await sleep(this.baseDelayMs * 2 ** attempt);
    }
  }
}

/** A top-level field of a JSON body, if the body is an object. */
export function field(body: unknown, key: string): unknown {
  return body && typeof body === 'object' ? (body as Record<string, unknown>)[key] : undefined;
}

export function messageOf(body: unknown): string {
  if (body && typeof body === 'object' && 'message' in body) return String(body.message);
  return typeof body === 'string' ? body.slice(0, 200) : '';
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
