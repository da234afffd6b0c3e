import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attackSuite, expandAttackIds, namesPreset, parseLambdaList, selectAttacks } from '../../src/eval/attack-suite.js';

const ids = (specs: readonly { id: string }[]): string[] => specs.map((s) => s.id);

describe('the adaptive λ list and attack names', () => {
  it('parses a λ list, dropping repeats and keeping the order', () => {
    assert.deepEqual(parseLambdaList('1'), [1]);
    assert.deepEqual(parseLambdaList('1,10'), [1, 10]);
    assert.deepEqual(parseLambdaList(' 10 , 0.5,10 '), [10, 0.5]);
    assert.deepEqual(parseLambdaList('0'), [0]);
    for (const bad of ['', '1,,10', 'x', '1,-2', '1,Infinity']) {
      assert.throws(() => parseLambdaList(bad), { code: 'EVAL_BAD_OPTION' }, bad);
    }
  });

  it('names one adaptive attack `adaptive`, several `adaptive-l<λ>`, each with its λ', () => {
    const one = attackSuite(0.1);
    assert.deepEqual(ids(one), ['fgsm', 'pgd20-s4', 'pgd20-s10', 'cw30', 'adaptive']);
    assert.equal(one.at(-1)?.params.lambda, 1);
    assert.equal(attackSuite(0.1, { adaptiveLambdas: [5] }).at(-1)?.params.lambda, 5);
    const two = attackSuite(0.1, { adaptiveLambdas: [1, 10, 0.5] });
    assert.deepEqual(ids(two).slice(4), ['adaptive-l1', 'adaptive-l10', 'adaptive-l0.5']);
    assert.deepEqual(two.slice(4).map((a) => [a.label, a.params.lambda]), [
      ['Adaptive λ=1', 1],
      ['Adaptive λ=10', 10],
      ['Adaptive λ=0.5', 0.5],
    ]);
    assert.deepEqual(ids(attackSuite(0.1, { adaptiveLambdas: [10], idPerLambda: true })).at(-1), 'adaptive-l10');
    assert.throws(() => attackSuite(0.1, { adaptiveLambdas: [] }), { code: 'EVAL_BAD_OPTION' });
  });

  it('expands `adaptive` to every λ and the `target` preset to PGD-20 ε/4, CW∞-30 and the adaptive attacks', () => {
    const suite = attackSuite(0.1, { adaptiveLambdas: [1, 10] });
    assert.deepEqual(expandAttackIds(suite, ['adaptive']), ['adaptive-l1', 'adaptive-l10']);
    assert.deepEqual(expandAttackIds(suite, ['target']), ['pgd20-s4', 'cw30', 'adaptive-l1', 'adaptive-l10']);
    assert.deepEqual(expandAttackIds(suite, ['adaptive-l10', 'fgsm', 'fgsm']), ['fgsm', 'adaptive-l10'], "the suite's order, once each");
    assert.deepEqual(ids(selectAttacks(suite, ['target', 'fgsm'])), ['fgsm', 'pgd20-s4', 'cw30', 'adaptive-l1', 'adaptive-l10']);
    assert.deepEqual(ids(selectAttacks(attackSuite(0.1), ['adaptive'])), ['adaptive']);
    assert.throws(() => expandAttackIds(suite, ['adaptive-l3']), {
      code: 'EVAL_BAD_OPTION',
      message: /unknown attack "adaptive-l3"; valid attacks: fgsm, pgd20-s4, pgd20-s10, cw30, adaptive-l1, adaptive-l10, adaptive; presets: target/,
    });
    // The target preset needs the attacks it names among those run.
    assert.throws(() => expandAttackIds(selectAttacks(suite, ['fgsm']), ['target']), { code: 'EVAL_BAD_OPTION' });
    assert.equal(namesPreset(['fgsm', 'target']), true);
    assert.equal(namesPreset(['fgsm']), false);
    assert.equal(namesPreset(undefined), false);
  });
});
