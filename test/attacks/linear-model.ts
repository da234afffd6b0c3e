import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../../src/model/init.js';
import type { ArchConfig, ForwardOptions, ForwardResult, Model } from '../../src/model/types.js';

/**
 * A linear classifier z = W·x + b on small greyscale images, with an optional linear router
 * (type logits [u·x + c, 0]). Its exact L∞ robustness is known in closed form, which makes it
 * the ground truth the attacks are checked against.
 */
export class LinearModel implements Model {
  readonly config: ArchConfig;
  readonly w: Float32Array;
  readonly b: Float32Array;
  readonly u: Float32Array | null;
  private readonly routerCentre: number;
  private readonly vars: Map<string, tf.Variable>;

  constructor(options: { side?: number; classes?: number; seed?: number; router?: boolean } = {}) {
    const side = options.side ?? 8;
    const k = options.classes ?? 10;
    const d = side * side;
    const next = mulberry32(options.seed ?? 1);
    const normal = (): number => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
    this.w = Float32Array.from({ length: d * k }, normal);
    this.b = Float32Array.from({ length: k }, () => 0.5 * normal());
    this.u = options.router ? Float32Array.from({ length: d }, normal) : null;
    this.routerCentre = this.u === null ? 0 : 0.5 * this.u.reduce((a, v) => a + v, 0);
    const backbone = { stem: 1, widths: [1], blocks: [1], strides: [1] };
    this.config = {
      preset: 'test-linear',
      variant: this.u === null ? 'static' : 'awnet',
      input: { height: side, width: side, channels: 1 },
      numClasses: k,
      normalization: { mean: [0], std: [1] },
      main: backbone,
      router: backbone,
      beta: 1,
    };
    this.vars = new Map<string, tf.Variable>([
      ['w', tf.variable(tf.tensor2d(this.w, [d, k]), false, `linear${next()}/w`)],
      ['b', tf.variable(tf.tensor1d(this.b), false, `linear${next()}/b`)],
    ]);
    if (this.u !== null) this.vars.set('u', tf.variable(tf.tensor2d(this.u, [d, 1]), false, `linear${next()}/u`));
  }

  forward(x: tf.Tensor4D, _options: ForwardOptions): ForwardResult {
    const n = x.shape[0];
    const flat = tf.reshape(x, [n, -1]) as tf.Tensor2D;
    const logits = tf.tidy(() => tf.add(tf.matMul(flat, this.vars.get('w') as tf.Tensor2D), this.vars.get('b') as tf.Tensor1D) as tf.Tensor2D);
    const u = this.vars.get('u');
    if (u === undefined) {
      flat.dispose();
      return { logits, typeLogits: null, pClean: null };
    }
    const [typeLogits, pClean] = tf.tidy(() => {
      // Centred on the mean input so that the router is undecided at a typical image.
      const z = tf.reshape(tf.sub(tf.matMul(flat, u as tf.Tensor2D), this.routerCentre), [n]);
      return [tf.stack([z, tf.zerosLike(z)], 1) as tf.Tensor2D, tf.sigmoid(z) as tf.Tensor1D] as const;
    });
    flat.dispose();
    return { logits, typeLogits, pClean };
  }

  trainableVariables(): tf.Variable[] {
    return [...this.vars.values()];
  }

  namedVariables(): ReadonlyMap<string, tf.Variable> {
    return this.vars;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
  }

  /** Logits of one flat image, in float64. */
  logits(x: ArrayLike<number>): number[] {
    const k = this.config.numClasses;
    const out = Array.from(this.b, Number);
    for (let i = 0; i < x.length; i++) for (let j = 0; j < k; j++) out[j]! += (x[i] as number) * (this.w[i * k + j] as number);
    return out;
  }

  /**
   * The exact smallest value over the L∞ ball of radius eps (intersected with [0, 1]) of the
   * margin z_y − z_j, minimised over j ≠ y. The ball is a box and the margin is linear, so each
   * pixel goes independently to the end of its interval that lowers the margin. The image is
   * robust at eps exactly when this is positive.
   */
  worstMargin(x: ArrayLike<number>, label: number, eps: number): number {
    const k = this.config.numClasses;
    let worst = Infinity;
    for (let j = 0; j < k; j++) {
      if (j === label) continue;
      let m = (this.b[label] as number) - (this.b[j] as number);
      for (let i = 0; i < x.length; i++) {
        const v = (this.w[i * k + label] as number) - (this.w[i * k + j] as number);
        const xi = x[i] as number;
        m += v * (v > 0 ? Math.max(0, xi - eps) : Math.min(1, xi + eps));
      }
      worst = Math.min(worst, m);
    }
    return worst;
  }

  /** The smallest eps at which the image can be misclassified (bisection on `worstMargin`). */
  robustRadius(x: ArrayLike<number>, label: number): number {
    if (this.worstMargin(x, label, 0) <= 0) return 0;
    let lo = 0;
    let hi = 1;
    if (this.worstMargin(x, label, 1) > 0) return Infinity;
    for (let i = 0; i < 50; i++) {
      const mid = (lo + hi) / 2;
      if (this.worstMargin(x, label, mid) > 0) lo = mid;
      else hi = mid;
    }
    return hi;
  }
}
