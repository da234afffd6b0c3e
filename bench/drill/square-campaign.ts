import { AttackOracleError } from '../../src/attacks/errors.js';
import { HttpOracle } from '../../src/attacks/http-oracle.js';
import type { OracleAnswer, ScoreOracle } from '../../src/attacks/score-oracle.js';
import { squareAttack, type SquareResult } from '../../src/attacks/square.js';
import { EPS, type TestImages } from './adversary.js';
import { CLIENT_KEY_HEADER } from './traffic.js';

export interface SquareCampaignOptions {
  /** Queries per image. */
  readonly queries: number;
  /** Undefined: the plain attack; a number: router-evading with that λ. */
  readonly lambda?: number;
  /** API keys the queries go out under, one per query (a batch of the images), in turn. */
  readonly clients: readonly string[];
}

const RETRIES = 3;

/**
 * The service as one score oracle reached under several API keys: each query goes out
 * under the next key, as an attacker who spreads a search over many accounts does.
 */
class RotatingOracle implements ScoreOracle {
  private next = 0;
  constructor(private readonly oracles: readonly HttpOracle[]) {}

  get shape(): ScoreOracle['shape'] {
    return (this.oracles[0] as HttpOracle).shape;
  }

  get numClasses(): number {
    return (this.oracles[0] as HttpOracle).numClasses;
  }

  get images(): number {
    return this.oracles.reduce((s, o) => s + o.images, 0);
  }

  async query(images: Float32Array, n: number): Promise<OracleAnswer> {
    const oracle = this.oracles[this.next % this.oracles.length] as HttpOracle;
    this.next++;
    // A connection that fails before any answer (a keep-alive socket the server closed as
    // it was reused) is retried, as an attacker's client would; an HTTP error is not.
    for (let attempt = 1; ; attempt++) {
      try {
        return await oracle.query(images, n);
      } catch (err) {
        if (attempt >= RETRIES || !(err instanceof AttackOracleError) || err.status !== undefined) throw err;
      }
    }
  }
}

/**
 * The black-box Square Attack against the running service over HTTP (PNG uploads to the
 * classify route, reading probabilities and the adversarial score), on the 8-bit grid so
 * that PNG rounding keeps each image inside the eps-ball. Returns its images and the
 * number of images it sent while searching.
 */
export async function squareOverHttp(base: string, model: string, targets: TestImages, options: SquareCampaignOptions): Promise<{ result: SquareResult; queries: number }> {
  const first = await HttpOracle.fromService(base, model);
  const oracles = options.clients.map(
    (key) => new HttpOracle({ url: base, model, shape: first.shape, numClasses: first.numClasses, headers: { [CLIENT_KEY_HEADER]: key } }),
  );
  const oracle = new RotatingOracle(oracles);
  const result = await squareAttack(oracle, targets.clean, targets.labels, {
    eps: EPS,
    queries: options.queries,
    seed: 3,
    levels: 255,
    ...(options.lambda === undefined ? {} : { lambda: options.lambda }),
  });
  return { result, queries: oracle.images };
}
