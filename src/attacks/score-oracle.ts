import * as tf from '@tensorflow/tfjs';
import type { Model } from '../model/types.js';

/** The pixel layout of an oracle's images: NHWC values in [0, 1]. */
export interface OracleShape {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

/** What one query returns for a batch of n images. */
export interface OracleAnswer {
  /** n × K class probabilities, row by row. */
  readonly probabilities: Float32Array;
  /** n adversarial scores (1 − P(clean)); all 0 for a model without a router. */
  readonly scores: Float32Array;
}

/**
 * What a score-based black-box attack sees of a classifier: for a batch of images, the
 * class probabilities and the detector's adversarial score, as an API client gets them.
 * The Square Attack is written against it, so the same attack runs on a tfjs model in
 * process (`modelOracle`) or on the running service over HTTP (`HttpOracle`).
 */
export interface ScoreOracle {
  readonly shape: OracleShape;
  readonly numClasses: number;
  /** `images` holds n NHWC images one after the other. */
  query(images: Float32Array, n: number): Promise<OracleAnswer>;
}

/** The oracle of a tfjs model: softmax of its logits and 1 − P(clean), in inference mode. */
export function modelOracle(model: Model): ScoreOracle {
  const { height, width, channels } = model.config.input;
  return {
    shape: { height, width, channels },
    numClasses: model.config.numClasses,
    query: (images, n) => {
      const [probabilities, scores] = tf.tidy(() => {
        const out = model.forward(tf.tensor4d(images, [n, height, width, channels]), { training: false });
        const score = out.pClean === null ? tf.zeros([n]) : tf.sub(1, out.pClean);
        return [tf.softmax(out.logits), score] as const;
      });
      // Read outside tidy: tidy walks returned typed arrays element by element.
      const answer = { probabilities: Float32Array.from(probabilities.dataSync()), scores: Float32Array.from(scores.dataSync()) };
      tf.dispose([probabilities, scores]);
      return Promise.resolve(answer);
    },
  };
}
