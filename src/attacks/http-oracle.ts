import { encodeImage } from '../image/encode.js';
import { AttackOracleError } from './errors.js';
import type { OracleAnswer, OracleShape, ScoreOracle } from './score-oracle.js';

export interface HttpOracleOptions {
  /** The service's base address, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  /** A served model's name (POST /v1/models/{name}/classify); default the default model (POST /v1/classify). */
  readonly model?: string;
  readonly shape: OracleShape;
  readonly numClasses: number;
  /** Images per request; default 16, the service's default AWNET_MAX_FILES. */
  readonly perRequest?: number;
  /** Sent with every query, e.g. the API-key header the service keys clients by. */
  readonly headers?: Readonly<Record<string, string>>;
}

interface ClassifyAnswer {
  readonly results?: readonly { readonly probabilities?: unknown; readonly adversarial?: { readonly score?: unknown } }[];
}

/**
 * The running service as a score oracle, queried the way an API client would: each image is
 * rounded to 8 bits, encoded as PNG with the project's image module and sent as multipart
 * files to the classify route; the answer's `probabilities` and `adversarial.score` are what
 * the attack sees. Requests of one query are sent together so the service can batch them.
 * Attacks should round their perturbations to 1/255 steps (Square's `levels: 255`) so that
 * the rounding keeps them inside the eps-ball.
 */
export class HttpOracle implements ScoreOracle {
  readonly shape: OracleShape;
  readonly numClasses: number;
  /** Requests sent and images classified so far. */
  requests = 0;
  images = 0;
  private readonly endpoint: string;
  private readonly perRequest: number;
  private readonly headers: Readonly<Record<string, string>>;

  constructor(options: HttpOracleOptions) {
    this.shape = options.shape;
    this.headers = options.headers ?? {};
    this.numClasses = options.numClasses;
    this.perRequest = options.perRequest ?? 16;
    const base = options.url.replace(/\/+$/, '');
    this.endpoint = options.model === undefined ? `${base}/v1/classify` : `${base}/v1/models/${encodeURIComponent(options.model)}/classify`;
  }

  /** Labels and input shape from the service's model metadata (GET /v2/models/{name}). */
  static async fromService(url: string, model: string, perRequest?: number, headers?: Readonly<Record<string, string>>): Promise<HttpOracle> {
    const base = url.replace(/\/+$/, '');
    const response = await fetch(`${base}/v2/models/${encodeURIComponent(model)}`);
    if (!response.ok) throw new AttackOracleError(`GET ${base}/v2/models/${model} answered ${response.status}`);
    const meta = (await response.json()) as { inputs?: { shape?: number[] }[]; parameters?: { labels?: string[] } };
    const [, channels, height, width] = meta.inputs?.[0]?.shape ?? [];
    const labels = meta.parameters?.labels;
    if (channels === undefined || height === undefined || width === undefined || !Array.isArray(labels)) {
      throw new AttackOracleError(`the metadata of ${model} has no input shape [-1, C, H, W] or no labels`);
    }
    return new HttpOracle({ url, model, shape: { height, width, channels }, numClasses: labels.length, ...(perRequest !== undefined ? { perRequest } : {}), ...(headers ? { headers } : {}) });
  }

  async query(images: Float32Array, n: number): Promise<OracleAnswer> {
    const { height, width, channels } = this.shape;
    const per = height * width * channels;
    const k = this.numClasses;
    const probabilities = new Float32Array(n * k);
    const scores = new Float32Array(n);
    const chunks: number[] = [];
    for (let start = 0; start < n; start += this.perRequest) chunks.push(start);
    await Promise.all(
      chunks.map(async (start) => {
        const count = Math.min(this.perRequest, n - start);
        const form = new FormData();
        for (let i = 0; i < count; i++) {
          const pixels = images.subarray((start + i) * per, (start + i + 1) * per);
          const png = await encodeImage(Uint8Array.from(pixels, (v) => Math.round(Math.min(Math.max(v, 0), 1) * 255)), { height, width, channels: channels as 1 | 3 }, 'png');
          form.append('image', new Blob([new Uint8Array(png)], { type: 'image/png' }), `query-${start + i}.png`);
        }
        const answer = await this.post(form);
        const results = answer.results ?? [];
        if (results.length !== count) throw new AttackOracleError(`${this.endpoint} answered ${results.length} results for ${count} images`);
        results.forEach((r, i) => {
          const p = r.probabilities;
          const score = r.adversarial?.score;
          if (!Array.isArray(p) || p.length !== k || !p.every((v) => typeof v === 'number') || typeof score !== 'number') {
            throw new AttackOracleError(`${this.endpoint}: result ${i} has no ${k} probabilities or no adversarial.score`);
          }
          probabilities.set(p as number[], (start + i) * k);
          scores[start + i] = score;
        });
      }),
    );
    this.images += n;
    return { probabilities, scores };
  }

  private async post(form: FormData): Promise<ClassifyAnswer> {
    this.requests++;
    let response: Response;
    try {
      response = await fetch(this.endpoint, { method: 'POST', body: form, headers: this.headers });
    } catch (err) {
      throw new AttackOracleError(`POST ${this.endpoint} failed: ${(err as Error).message}`);
    }
    if (!response.ok) throw new AttackOracleError(`POST ${this.endpoint} answered ${response.status}: ${(await response.text()).slice(0, 200)}`, response.status);
    return (await response.json()) as ClassifyAnswer;
  }
}
