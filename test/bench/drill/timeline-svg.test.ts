import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ScenarioResult } from '../../../bench/drill/runner.js';
import { renderTimelineSvg } from '../../../bench/drill/timeline-svg.js';

const result: ScenarioResult = {
  id: 'pgd',
  title: 'PGD <campaign>',
  kind: 'attack',
  detail: '',
  sent: 10,
  counts: { answered: 10, refused: 0, flagged: 9, through: 1, throughBeforePage: 0, meanScore: 0.8 },
  peakFlaggedFraction: 0.3,
  peakSuspects: 0,
  peakClusters: 1,
  peakRaisedScoreShare: 0.3,
  quietRaisedScoreShare: 0.01,
  quietMeanScore: 0.001,
  alerts: [],
  otherAlertsFired: [],
  timeline: {
    flaggedFraction: [{ t: -5, v: 0 }, { t: 5, v: 0.3 }, { t: 25, v: 0 }],
    raisedScoreShare: [{ t: -5, v: 0.01 }, { t: 5, v: 0.3 }],
    imagesPerSecond: [{ t: -5, v: 40 }, { t: 5, v: 50 }],
    errorsPerSecond: [],
    suspects: [{ t: 0, v: 0 }],
    clusters: [{ t: 0, v: 0 }, { t: 5, v: 1 }],
    alerts: { AwnetAdversarialTrafficSpike: { pending: [{ start: 2, end: 3 }], firing: [{ start: 3, end: null }] } },
    campaign: { start: 0, end: 20 },
    record: { start: -10, end: 30 },
  },
};

describe('the drill picture', () => {
  it('draws the campaign, one band row per alert (pending and firing in their colours, an open span to the end) and the series', () => {
    const svg = renderTimelineSvg(result, 60);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /PGD &#60;campaign&#62;/, 'the title is escaped');
    // x runs from -10 to 30 over 780 px from 90 (19.5 px a second): the campaign 0…20 is 285…675.
    assert.match(svg, /<rect x="285\.0" y="50" width="390\.0"[^>]*fill="#f2f2f2"/);
    assert.match(svg, /<rect x="324\.0" y="52" width="19\.5" height="14" fill="#E69F00"\/>/, 'pending 2…3 s');
    assert.match(svg, /<rect x="343\.5" y="52" width="526\.5" height="14" fill="#D55E00"\/>/, 'firing from 3 s to the end of the record');
    assert.match(svg, />AwnetAdversarialTrafficSpike</);
    assert.equal((svg.match(/<polyline/g) ?? []).length, 5, 'flagged, raised score share, images, suspected clients and clusters (no error points)');
    assert.match(svg, />clusters across keys</);
    assert.match(svg, /spike limit 10 %/);
  });
});
