import { benignEvaluationSet, corruptBatch, type BenignSetting } from '../data/corruptions.js';
import { hashSeed, Rng } from '../data/rng.js';
import type { ImageShape } from '../data/types.js';
import { EvalError } from './errors.js';

export type { BenignSetting };

/** The benign settings named in `ids` (default: all of `benignEvaluationSet(eps)`), in the set's order. */
export function benignSettings(eps: number, ids?: readonly string[]): BenignSetting[] {
  const all = benignEvaluationSet(eps);
  if (ids === undefined) return all;
  const known = new Set(all.map((s) => s.id));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new EvalError(
      'EVAL_BAD_OPTION',
      `unknown benign change ${unknown.map((u) => `"${u}"`).join(', ')}; valid ones: ${[...known].join(', ')}`,
    );
  }
  return all.filter((s) => ids.includes(s.id));
}

function idHash(id: string): number {
  return hashSeed(...[...id].map((c) => c.codePointAt(0) ?? 0));
}

/**
 * The noise generator of one image under one setting. It depends on the image's index in
 * the test set, not on the batch it falls in, so the benign figures are the same for any
 * batch size and any number of workers.
 */
export function benignRng(seed: number, setting: BenignSetting, image: number): Rng {
  return Rng.derive(seed, 0xbe41, idHash(setting.id), image);
}

/** Rows `first … first + count − 1` of the test set under one benign setting. */
export async function corruptRows(
  images: Float32Array,
  count: number,
  shape: { readonly height: number; readonly width: number; readonly channels: number },
  setting: BenignSetting,
  seed: number,
  first: number,
): Promise<Float32Array> {
  if (shape.channels !== 1 && shape.channels !== 3) {
    throw new EvalError('EVAL_BAD_INPUT', `benign changes need grey or RGB images; got ${shape.channels} channels`);
  }
  const imageShape: ImageShape = { height: shape.height, width: shape.width, channels: shape.channels };
  const size = shape.height * shape.width * shape.channels;
  const pick = (): typeof setting.corruption => setting.corruption;
  // JPEG draws no noise: the whole batch goes to the encoder at once.
  if (setting.corruption.kind === 'jpeg') return corruptBatch(images, count, imageShape, pick, new Rng(seed));
  const out = new Float32Array(count * size);
  for (let n = 0; n < count; n++) {
    const row = images.subarray(n * size, (n + 1) * size);
    out.set(await corruptBatch(row, 1, imageShape, pick, benignRng(seed, setting, first + n)), n * size);
  }
  return out;
}
