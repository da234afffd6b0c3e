import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  adaptiveAttack,
  cwInf,
  fgsm,
  perSampleCrossEntropy,
  perSampleMargin,
  pgd,
} from '../../src/attacks/index.js';
import { fashionBatch, meanOf, TinyModel, trainTiny, useWasm, type Batch } from './tiny-model.js';

const EPS = 0.05;

let model: TinyModel;
let test: Batch;

interface Figures {
  readonly ce: number;
  readonly margin: number;
  readonly accuracy: number;
  readonly pClean: number;
}

function figures(x: tf.Tensor4D): Figures {
  return tf.tidy(() => {
    const out = model.forward(x, { training: false });
    return {
      ce: meanOf(perSampleCrossEntropy(out.logits, test.y)),
      margin: meanOf(perSampleMargin(out.logits, test.y)),
      accuracy: meanOf(tf.equal(tf.argMax(out.logits, 1), test.y)),
      pClean: out.pClean === null ? NaN : meanOf(out.pClean),
    };
  });
}

function attacked(run: () => tf.Tensor4D): Figures {
  const xAdv = run();
  const f = figures(xAdv);
  xAdv.dispose();
  return f;
}

describe('attacks against a trained model (real Fashion-MNIST images)', () => {
  let clean: Figures;

  before(async () => {
    await useWasm();
    model = new TinyModel({ seed: 5 });
    const train = await fashionBatch('train', 2048);
    trainTiny(model, train, 60);
    train.x.dispose();
    train.y.dispose();
    test = await fashionBatch('test', 128);
    clean = figures(test.x);
  });
  after(() => {
    model.dispose();
    test.x.dispose();
    test.y.dispose();
  });

  it('the model is trained: clean accuracy well above chance', () => {
    assert.ok(clean.accuracy > 0.6, `clean accuracy ${clean.accuracy}`);
    assert.ok(clean.pClean > 0.5, `the router should call clean images clean: mean P(clean) ${clean.pClean}`);
  });

  it('FGSM raises the cross-entropy above the clean loss and lowers accuracy', () => {
    const f = attacked(() => fgsm(model, test.x, test.y, { eps: EPS }));
    assert.ok(f.ce > clean.ce + 0.3, `FGSM CE ${f.ce} vs clean ${clean.ce}`);
    assert.ok(f.accuracy < clean.accuracy, `FGSM accuracy ${f.accuracy} vs clean ${clean.accuracy}`);
  });

  it('PGD raises the cross-entropy above the clean loss, at least as far as FGSM', () => {
    const fg = attacked(() => fgsm(model, test.x, test.y, { eps: EPS }));
    const f = attacked(() => pgd(model, test.x, test.y, { eps: EPS, steps: 10, stepSize: EPS / 4, seed: 1 }));
    assert.ok(f.ce > clean.ce + 0.3, `PGD CE ${f.ce} vs clean ${clean.ce}`);
    assert.ok(f.ce >= fg.ce * 0.98, `PGD CE ${f.ce} vs FGSM ${fg.ce}`);
    assert.ok(f.accuracy < clean.accuracy);
  });

  it('CW∞ raises the margin loss (and the cross-entropy) above their clean values', () => {
    const f = attacked(() => cwInf(model, test.x, test.y, { eps: EPS, steps: 10, seed: 2 }));
    assert.ok(f.margin > clean.margin + 1, `CW margin ${f.margin} vs clean ${clean.margin}`);
    assert.ok(f.ce > clean.ce, `CW CE ${f.ce} vs clean ${clean.ce}`);
    assert.ok(f.accuracy < clean.accuracy);
  });

  it('the adaptive attack raises the margin loss and keeps the router saying "clean"', () => {
    const plain = attacked(() => pgd(model, test.x, test.y, { eps: EPS, steps: 10, stepSize: EPS / 4, seed: 3 }));
    const noRouterTerm = attacked(() => adaptiveAttack(model, test.x, test.y, { eps: EPS, steps: 10, lambda: 0, seed: 3 }));
    const f = attacked(() => adaptiveAttack(model, test.x, test.y, { eps: EPS, steps: 10, seed: 3 }));
    assert.ok(f.margin > clean.margin, `adaptive margin ${f.margin} vs clean ${clean.margin}`);
    assert.ok(f.accuracy < clean.accuracy - 0.2, `adaptive accuracy ${f.accuracy} vs clean ${clean.accuracy}`);
    // The router term is what keeps P(clean) up: without it (λ = 0), or with plain PGD,
    // the router sees through the perturbation.
    assert.ok(f.pClean > plain.pClean + 0.1, `P(clean) adaptive ${f.pClean} vs PGD ${plain.pClean}`);
    assert.ok(f.pClean > noRouterTerm.pClean + 0.1, `P(clean) λ=1 ${f.pClean} vs λ=0 ${noRouterTerm.pClean}`);
  });
});
