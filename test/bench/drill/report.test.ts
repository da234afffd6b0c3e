import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compressionTable, compressRules, compressServiceEnv } from '../../../bench/drill/compression.js';
import { alertCell, drillSeconds, scenarioTable } from '../../../bench/drill/report.js';
import type { ScenarioResult } from '../../../bench/drill/runner.js';
import type { RuleFile } from '../../../bench/drill/rules.js';

const rules: RuleFile = {
  groups: [
    {
      name: 'g',
      rules: [
        { record: 'ns:images:rate2m', expr: 'sum(rate(awnet_images_total[2m]))' },
        { record: 'ns:images:increase10m', expr: 'sum(increase(awnet_images_total[10m]))' },
        { alert: 'Spike', expr: 'ns:images:rate2m > 1 or ns:images:increase10m > 20', for: '1m' },
        { alert: 'Baseline', expr: 'x > 5 * avg_over_time(ns:images:rate2m[1d])', for: '15m' },
        { alert: 'Now', expr: 'up == 0' },
      ],
    },
  ],
};

function scenario(alerts: ScenarioResult['alerts'], kind: ScenarioResult['kind'] = 'attack'): ScenarioResult {
  return {
    id: 's',
    title: 'a campaign',
    kind,
    detail: '',
    sent: 100,
    counts: { answered: 100, refused: 0, flagged: 30, through: 12, throughBeforePage: 4, meanScore: 0.3 },
    peakFlaggedFraction: 0.25,
    peakSuspects: 1,
    peakClusters: 2,
    quietMeanScore: 0.0012,
    peakRaisedScoreShare: 0.4,
    quietRaisedScoreShare: 0.02,
    alerts,
    otherAlertsFired: [],
    timeline: { flaggedFraction: [], raisedScoreShare: [], imagesPerSecond: [], errorsPerSecond: [], suspects: [], clusters: [], alerts: {}, campaign: { start: 0, end: 20 }, record: { start: -10, end: 30 } },
  };
}

describe('the drill report', () => {
  it('states per alert every window it reads, through recorded series, and its for:, compressed', () => {
    assert.deepEqual(compressionTable(rules, 60), [
      { alert: 'Spike', windows: ['2m → 2 s', '10m → 10 s'], for: '1m → 1 s' },
      { alert: 'Baseline', windows: ['2m → 2 s', '1d → 1440 s'], for: '15m → 15 s' },
      { alert: 'Now', windows: [], for: 'none' },
    ]);
    const compressed = compressRules(rules, 60);
    assert.equal((compressed.groups[0]?.rules[2] as { for: string }).for, '1s');
    assert.match(compressed.groups[0]?.rules[0]?.expr ?? '', /\[2s\]/);
  });

  it("compresses the service's time windows and nothing else", () => {
    assert.deepEqual(compressServiceEnv({ AWNET_QUERY_ATTACK_WINDOW_SECONDS: '600', AWNET_FLAGGED_WINDOW_SECONDS: '30', AWNET_QUERY_ATTACK_THRESHOLD: '10' }, 60), {
      AWNET_QUERY_ATTACK_WINDOW_SECONDS: '10',
      AWNET_FLAGGED_WINDOW_SECONDS: '1',
      AWNET_QUERY_ATTACK_THRESHOLD: '10',
    });
  });

  it('writes drill seconds with the real minutes they stand for', () => {
    assert.equal(drillSeconds(2.5, 60), '2.5 s (2.5 min)');
    assert.equal(drillSeconds(15, 60), '15.0 s (15 min)');
    assert.equal(alertCell({ alert: 'A', fired: true, pendingOnly: false, toFire: 3, toResolve: null }, 60), '**fired** after 3.0 s (3.0 min); still firing at the end');
    assert.equal(alertCell({ alert: 'A', fired: false, pendingOnly: true, toFire: null, toResolve: null }, 60), 'no (pending only)');
    assert.equal(alertCell(undefined, 60), 'no');
  });

  it('has one row per scenario with what got through before the first alert', () => {
    const table = scenarioTable({
      settings: { factor: 60 } as never,
      scenarios: [scenario([{ alert: 'AwnetAdversarialTrafficSpike', fired: true, pendingOnly: false, toFire: 4, toResolve: 9 }]), scenario([], 'benign')],
    });
    const lines = table.split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[2] ?? '', /30 of 100 \(30\.0 %\) \| 25\.0 % \| 0\.300 \/ 0\.001 \| 40\.0 % \/ 2\.0 % \| 1 \/ 2 \| \*\*fired\*\* after 4\.0 s \(4\.0 min\); resolved 9\.0 s \(9\.0 min\) after the end \| no \| no \| no \| 4 of 12 that got through/);
    assert.match(lines[3] ?? '', /\| no \| no \| no \| no \| – \| none \|$/);
    assert.match(lines[0] ?? '', /\| peak suspects: clients \/ clusters \| spike \| above baseline \| query attack \| query attack across keys \|/);
    assert.match(lines[0] ?? '', /share scoring above 0\.05: peak \/ clean/);
  });
});
