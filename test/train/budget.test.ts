import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planBudget, plannedSeconds, type BudgetInputs } from '../../src/train/budget.js';
import { learningRate, type LrSchedule } from '../../src/train/schedule.js';

const BASE: BudgetInputs = {
  budgetSeconds: 45 * 60,
  spentSeconds: 20,
  stepSeconds: 0.7,
  validationSeconds: 40,
  stepsPerEpoch: 429,
  doneSteps: 0,
  doneValidations: 0,
  maxSteps: 10 * 429,
  reserveSeconds: 10,
};

describe('time-budget planner', () => {
  it('plans the most steps whose run, validations included, fits the budget', () => {
    const plan = planBudget(BASE);
    assert.ok(plan.plannedSeconds <= BASE.budgetSeconds, `${plan.plannedSeconds} s ≤ budget`);
    assert.ok(plannedSeconds(BASE, plan.totalSteps + 1) > BASE.budgetSeconds, 'one more step would not fit');
    assert.equal(plan.epochs, Math.ceil(plan.totalSteps / 429));
    assert.equal(plan.validations, plan.epochs, 'a validation after every epoch, the last partial one too');
    // 2700 s − 20 spent − 10 reserve = 2670 s; n steps and ⌈n/429⌉ validations of 40 s.
    const n = plan.totalSteps;
    assert.ok(n * 0.7 + Math.ceil(n / 429) * 40 <= 2670 && (n + 1) * 0.7 + Math.ceil((n + 1) / 429) * 40 > 2670);
    assert.equal(plan.cappedByEpochs, false);
  });

  it('plans fewer steps on a slower machine and never beyond the epoch cap', () => {
    const slow = planBudget({ ...BASE, stepSeconds: 1.4 });
    assert.ok(slow.totalSteps < planBudget(BASE).totalSteps);
    const capped = planBudget({ ...BASE, stepSeconds: 0.01 });
    assert.equal(capped.totalSteps, BASE.maxSteps);
    assert.equal(capped.cappedByEpochs, true);
  });

  it('re-plans from where a run stands and never below the steps taken', () => {
    const mid = planBudget({ ...BASE, spentSeconds: 1500, doneSteps: 1800, doneValidations: 4 });
    assert.ok(mid.totalSteps >= 1800);
    assert.ok(mid.plannedSeconds <= BASE.budgetSeconds);
    const over = planBudget({ ...BASE, spentSeconds: 3000, doneSteps: 1800, doneValidations: 4 });
    assert.equal(over.totalSteps, 1800, 'a spent budget plans no further step');
  });

  it('rejects a non-positive step time', () => {
    assert.throws(() => planBudget({ ...BASE, stepSeconds: 0 }), RangeError);
  });
});

describe('fast-AT learning-rate schedules', () => {
  const base: LrSchedule = { name: 'one-cycle', baseLr: 0.2, totalSteps: 100, warmupSteps: 0, milestones: [], gamma: 0.1 };
  it('one-cycle rises linearly to the peak at 2/5 and falls linearly to 0 at the last step', () => {
    assert.equal(learningRate(base, 0), 0);
    assert.ok(Math.abs(learningRate(base, 20) - 0.1) < 1e-12);
    assert.ok(Math.abs(learningRate(base, 40) - 0.2) < 1e-12);
    assert.ok(Math.abs(learningRate(base, 70) - 0.1) < 1e-12);
    assert.equal(learningRate(base, 100), 0);
  });
  it('linear decay falls from the peak to 0', () => {
    const s = { ...base, name: 'linear-decay' as const };
    assert.equal(learningRate(s, 0), 0.2);
    assert.ok(Math.abs(learningRate(s, 50) - 0.1) < 1e-12);
    assert.equal(learningRate(s, 100), 0);
  });
});
