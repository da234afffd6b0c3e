import { augmentBatch } from '../data/augment.js';
import { corruptBatch, sampleBenign, type Corruption } from '../data/corruptions.js';
import { augmentationFor } from '../data/load.js';
import { Rng } from '../data/rng.js';
import { gatherBatch } from '../data/split.js';
import type { Dataset } from '../data/types.js';
import type { TrainSettings } from './settings.js';
import type { StepBatch } from './step-runner.js';

/**
 * One training batch: gathered, augmented (crop/flip) and, for a `benignShare` of its rows,
 * given a random benign corruption (noise, JPEG, blur, lighting; see sampleBenign); for a
 * further `matchedNoiseShare`, given the training attack's random start alone (uniform noise
 * ±attackNoise). The changed rows stay clean rows: they train the classifier and teach the
 * router that such changes are not attacks; the matched rows teach it that the random start
 * every adversarial row carries is not what makes a row adversarial. Every draw comes from
 * generators keyed by (seed, epoch, step), so a resumed run rebuilds the same batch.
 */
export async function trainingBatch(dataset: Dataset, indices: Int32Array, settings: TrainSettings, epoch: number, step: number): Promise<StepBatch> {
  const batch = gatherBatch(dataset, indices);
  const aug = augmentationFor(settings.dataset, dataset.shape, settings.augment);
  const images = augmentBatch(batch.images, batch.count, dataset.shape, aug, Rng.derive(settings.seed, 0xa0, epoch, step));
  const labels = Int32Array.from(batch.labels);
  const matched = settings.matchedNoiseShare;
  if (settings.benignShare <= 0 && matched <= 0) return { images, labels, count: batch.count };
  const pickRng = Rng.derive(settings.seed, 0xb0, epoch, step);
  const choices = Array.from({ length: batch.count }, (): Corruption | null => {
    const u = pickRng.next();
    if (u < settings.benignShare) return sampleBenign(pickRng, settings.eps, settings.benignKinds);
    return u < settings.benignShare + matched ? { kind: 'uniform', amount: settings.attackNoise } : null;
  });
  const corrupted = await corruptBatch(images, batch.count, dataset.shape, (n) => choices[n] ?? null, Rng.derive(settings.seed, 0xb1, epoch, step));
  return { images: corrupted, labels, count: batch.count };
}
