import { benignSettings, corruptRows } from '../../src/eval/benign.js';
import { loadCheckpoint } from '../../src/model/index.js';
import { adaptiveCraft, attackTestImages, EPS, pgdCraft, testImages, type Craft, type TestImages } from './adversary.js';
import { repoPath } from './repo.js';

/** The benign changes of `evaluate` the drill plays as drift: camera noise, JPEG, low contrast, darker. */
export const DRIFTS = ['uniform-eps', 'jpeg-40', 'contrast-0.7', 'brightness-0.8'] as const;

export interface DrillInputs {
  readonly background: TestImages;
  /** Attacked test images (distinct from the background's) and their crafted versions, by attack. */
  readonly targets: TestImages;
  readonly crafted: Record<'pgd' | 'transfer' | 'adaptive-l1' | 'adaptive-l10', Float32Array>;
  readonly squareTargets: TestImages;
  readonly drifted: Record<(typeof DRIFTS)[number], { label: string; pixels: Float32Array }>;
  readonly seconds: number;
}

export interface InputSizes {
  readonly background: number;
  readonly attacked: number;
  readonly square: number;
}

/**
 * Everything the scenarios send, made before the service starts (the attacks and the
 * service would compete for the CPU): white-box PGD and the adaptive attack on the served
 * model's checkpoint, transfer PGD on the static baseline's.
 */
export async function prepareInputs(sizes: InputSizes, servedCheckpoint: string): Promise<DrillInputs> {
  const started = Date.now();
  const served = (await loadCheckpoint(servedCheckpoint)).model;
  const surrogate = (await loadCheckpoint(repoPath('models', 'fmnist-tiny-static.checkpoint'))).model;
  const craft = async (model: typeof served, attack: Craft): Promise<Float32Array> => (await attackTestImages(model, sizes.attacked, 0, attack)).adversarial;
  const crafted = {
    pgd: await craft(served, pgdCraft),
    transfer: await craft(surrogate, pgdCraft),
    'adaptive-l1': await craft(served, adaptiveCraft(1)),
    'adaptive-l10': await craft(served, adaptiveCraft(10)),
  };
  served.dispose();
  surrogate.dispose();
  const targets = await testImages(sizes.attacked, 0);
  const squareTargets = await testImages(sizes.square, sizes.attacked);
  // The background: test images after the attacked ones, so that no clean client sends an attacked image's original.
  const backgroundOffset = 1000;
  const background = await testImages(sizes.background, backgroundOffset);
  const shape = { height: background.height, width: background.width, channels: 1 };
  const drifted = {} as DrillInputs['drifted'];
  for (const setting of benignSettings(EPS, [...DRIFTS])) {
    drifted[setting.id as (typeof DRIFTS)[number]] = { label: setting.label, pixels: await corruptRows(background.clean, background.n, shape, setting, 0, backgroundOffset) };
  }
  return { background, targets, crafted, squareTargets, drifted, seconds: (Date.now() - started) / 1000 };
}
