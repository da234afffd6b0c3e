import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../../src/server/repo-root.js';
import { runCli, tempDir } from '../train/helpers.js';

/**
 * The model card's figures (models/<name>.json, written by export from `evaluate`'s report)
 * re-measured on a fixed subset of the test set with the checkpoint shipped beside each model:
 * what the card claims must hold within sampling error on the images checked here.
 */

interface CardModel {
  readonly cleanAccuracy: number;
  readonly cleanFlagRate: number;
  readonly attacks: readonly { readonly id: string; readonly accuracy: number; readonly flagRate: number }[];
  readonly benign: readonly { readonly id: string; readonly accuracy: number; readonly flagRate: number }[];
  readonly worstCase: { readonly accuracy: number } | null;
}

interface Sidecar {
  readonly threshold: { readonly value: number };
  readonly router: boolean;
  readonly evaluation: { readonly model: CardModel };
}

const NAMES = ['fmnist-tiny-awnet', 'fmnist-tiny-static'];
const CLEAN_IMAGES = 200;
const ATTACKED_IMAGES = 100;

/** Three binomial standard errors of a rate p measured on n images, plus slack for the card's own error. */
function tolerance(p: number, n: number): number {
  return 3 * Math.sqrt(Math.max(p * (1 - p), 0.01) / n) + 0.02;
}

function near(measured: number, card: number, n: number, what: string): void {
  assert.ok(Math.abs(measured - card) <= tolerance(card, n), `${what}: ${(100 * measured).toFixed(1)} % on ${n} images; the card says ${(100 * card).toFixed(1)} %`);
}

describe('the shipped models hold their model cards', () => {
  const files = NAMES.map((name) => ({ name, onnx: path.join(repoRoot(), 'models', `${name}.onnx`), checkpoint: path.join(repoRoot(), 'models', `${name}.checkpoint`) }));
  const missing = files.flatMap((f) => [f.onnx, path.join(f.checkpoint, 'checkpoint.json')]).filter((f) => !existsSync(f));
  const skip = missing.length > 0 ? `not shipped: ${missing.join(', ')}` : false;
  /** Both models measured by one evaluate run (same images, same seeds), a worker per core. */
  let report: Promise<CardModel[]> | undefined;
  const measure = (): Promise<CardModel[]> =>
    (report ??= (async () => {
      const { dir, cleanup } = await tempDir('card');
      try {
        const out = path.join(dir, 'report.json');
        const result = await runCli([
          'evaluate',
          ...files.map((f) => f.checkpoint),
          '--limit',
          String(CLEAN_IMAGES),
          '--attack-limit',
          String(ATTACKED_IMAGES),
          '--attacks',
          'pgd20-s4,adaptive',
          '--adaptive-lambda',
          '10',
          '--benign',
          'uniform-eps,contrast-0.7',
          '--threshold',
          files.map((f) => f.onnx).join(','),
          '--no-curve',
          '--workers',
          '2',
          '--out',
          out,
        ]);
        assert.equal(result.code, 0, result.stderr + result.stdout);
        return (JSON.parse(readFileSync(out, 'utf8')) as { models: CardModel[] }).models;
      } finally {
        await cleanup();
      }
    })());

  files.forEach(({ name, onnx }, index) => {
    it(`${name}: clean, benign and attacked accuracy and flag rates on the first test images`, { skip }, async () => {
      const sidecar = JSON.parse(readFileSync(onnx.replace(/\.onnx$/, '.json'), 'utf8')) as Sidecar;
      const card = sidecar.evaluation.model;
      const measured = (await measure())[index]!;
      near(measured.cleanAccuracy, card.cleanAccuracy, CLEAN_IMAGES, 'clean accuracy');
      near(measured.cleanFlagRate, card.cleanFlagRate, CLEAN_IMAGES, 'clean flag rate');
      for (const id of ['uniform-eps', 'contrast-0.7']) {
        const m = measured.benign.find((b) => b.id === id)!;
        const c = card.benign.find((b) => b.id === id)!;
        near(m.accuracy, c.accuracy, CLEAN_IMAGES, `${id} accuracy`);
        near(m.flagRate, c.flagRate, CLEAN_IMAGES, `${id} flag rate`);
      }
      const pgd = measured.attacks.find((a) => a.id === 'pgd20-s4')!;
      near(pgd.accuracy, card.attacks.find((a) => a.id === 'pgd20-s4')!.accuracy, ATTACKED_IMAGES, 'PGD-20 accuracy');
      near(pgd.flagRate, card.attacks.find((a) => a.id === 'pgd20-s4')!.flagRate, ATTACKED_IMAGES, 'PGD-20 flag rate');
      // One attack pair here against the card's worst case over four attacks: never much better than the card.
      assert.ok(
        measured.worstCase!.accuracy >= card.worstCase!.accuracy - tolerance(card.worstCase!.accuracy, ATTACKED_IMAGES),
        `worst case of PGD-20 and adaptive λ 10: ${measured.worstCase!.accuracy}; the card's worst case over more attacks: ${card.worstCase!.accuracy}`,
      );
      assert.ok(
        measured.worstCase!.accuracy <= pgd.accuracy,
        'the worst case is never above one of its attacks',
      );
    });
  });

  it('models/README.md leads with the figures the sidecars hold', { skip: NAMES.some((n) => !existsSync(path.join(repoRoot(), 'models', `${n}.json`))) }, () => {
    const readme = readFileSync(path.join(repoRoot(), 'models', 'README.md'), 'utf8');
    for (const name of NAMES) {
      const card = (JSON.parse(readFileSync(path.join(repoRoot(), 'models', `${name}.json`), 'utf8')) as Sidecar).evaluation.model;
      for (const figure of [card.cleanAccuracy, card.worstCase!.accuracy]) {
        const text = (100 * figure).toFixed(2);
        assert.ok(readme.includes(text), `models/README.md does not show ${name}'s ${text} %`);
      }
    }
  });
});
