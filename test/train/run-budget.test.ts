import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RunBudget } from '../../src/train/run-budget.js';
import { initialState, type TrainData } from '../../src/train/run-setup.js';
import type { TrainSettings } from '../../src/train/settings.js';
import { defaultSettings } from './helpers.js';

const STEPS_PER_EPOCH = 40;
const VALIDATION_SECONDS = 3;

const settings: TrainSettings = { ...defaultSettings('unused'), timeBudgetMinutes: 1, epochs: 50 };

const data = {
  train: new Int32Array(0),
  val: new Int32Array(200),
  pgdVal: new Int32Array(20),
  batchSize: 32,
  steps: STEPS_PER_EPOCH,
} as Omit<TrainData, 'all'> as TrainData;

interface Simulated {
  /** Per step: the planned total in effect when the step ran (the schedule its learning rate came from). */
  readonly planAtStep: number[];
  readonly spent: number;
  readonly lines: string[];
}

/** Runs the trainer's budget loop on a clock: each step takes stepTime(remaining planned steps) seconds. */
function simulate(stepTime: (remaining: number) => number): Simulated {
  const lines: string[] = [];
  let state = initialState(settings);
  const budget = new RunBudget(settings, data, state, (l) => lines.push(l));
  let total = budget.totalSteps;
  let spent = 0;
  const planAtStep: number[] = [];
  while (state.globalStep < total) {
    const t = stepTime(total - state.globalStep);
    planAtStep.push(total);
    spent += t;
    state = { ...state, globalStep: state.globalStep + 1 };
    total = budget.afterStep(t, state, spent);
    if (state.globalStep % STEPS_PER_EPOCH === 0 || state.globalStep >= total) {
      spent += VALIDATION_SECONDS;
      state = { ...state, epoch: Math.ceil(state.globalStep / STEPS_PER_EPOCH) };
      total = budget.afterValidation(VALIDATION_SECONDS, state, spent);
    }
  }
  return { planAtStep, spent, lines };
}

describe('the run budget', () => {
  it('on a steady machine plans once and ends exactly at its plan, inside the budget', () => {
    const run = simulate(() => 0.1);
    assert.ok(run.lines[0]!.startsWith('time budget 1 min: planned'), run.lines.join('\n'));
    assert.ok(!run.lines.some((l) => l.includes('stopping at step')), run.lines.join('\n'));
    assert.equal(run.planAtStep.at(-1), run.planAtStep.length, 'the last step is the last planned one');
    assert.ok(run.spent <= 60, `spent ${run.spent} s`);
  });

  it("counts the Square Attack's queries in a validation's cost before one has run", () => {
    const attacked = { ...data, pgdVal: new Int32Array(2000) } as TrainData;
    const estimate = (valSquareQueries: number): number => {
      const lines: string[] = [];
      const s = { ...settings, valSquareQueries, workers: 1 };
      const state = initialState(s);
      const budget = new RunBudget(s, attacked, state, (l) => lines.push(l));
      for (let step = 1; step <= 5; step++) budget.afterStep(0.1, { ...state, globalStep: step }, 0.1 * step);
      return Number(/≈(\d+) s per validation/.exec(lines[0]!)![1]);
    };
    // A pass costs 0.1 s / (32 images · (5 attack steps + 3)); 300 queries (a third of a pass each)
    // on the assumed 60 % of 2,000 attacked images are 2000 · 0.6 · 300 / 3 = 120,000 passes, 47 s.
    assert.equal(settings.attackSteps, 5);
    const squareSeconds = (120_000 * 0.1) / (32 * 8);
    assert.ok(Math.abs(estimate(300) - estimate(0) - squareSeconds) <= 1, `${estimate(300)} vs ${estimate(0)}`);
  });

  it('names the step at which a sudden slowdown stops the run before its plan', () => {
    // 0.1 s steps become 3 s steps 10 planned steps before the end: too sudden to re-plan the schedule's end.
    const run = simulate((remaining) => (remaining <= 10 ? 3 : 0.1));
    const stop = run.lines.map((l) => /^time budget: stopping at step (\d+) of (\d+) planned/.exec(l)).filter((m) => m !== null);
    assert.equal(stop.length, 1, run.lines.join('\n'));
    assert.equal(Number(stop[0]![1]), run.planAtStep.length, 'the logged step is the last one run');
    assert.ok(Number(stop[0]![2]) > run.planAtStep.length, run.lines.join('\n'));
    assert.ok(run.spent <= 60, `spent ${run.spent} s`);
  });

  it('follows a slowdown near the end within a few steps, so the schedule still ends at the last step', () => {
    // Steps of 0.1 s become 1.2 to 10 times slower once `within` planned steps remain; the first
    // plan would overrun by up to ≈ 18 s, more than the 10 s reserve.
    for (const slow of [0.12, 0.3, 0.5, 1]) {
      for (const within of [20, 60, 120]) {
        const run = simulate((remaining) => (remaining <= within ? slow : 0.1));
        const last = run.planAtStep.length;
        const planned = run.planAtStep.at(-1)!;
        // A one-cycle or linear-decay schedule at step `last` of `planned` has run 1 − (planned − last)/planned of its course.
        const where = `${slow} s steps in the last ${within}: the last step ${last} ran under a plan of ${planned}`;
        assert.ok(planned - last <= 0.01 * planned, where);
        assert.ok(run.spent <= 60, `${where}, spent ${run.spent} s`);
      }
    }
  });
});
