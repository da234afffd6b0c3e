import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { ServiceMetrics } from '../../../src/server/telemetry/metrics.js';
import { metricValue } from '../helpers.js';

const gauges = { version: '1', provider: 'cpu', providerFallback: false, queueCapacity: 8, queueDepth: () => 0, imagesInFlight: () => 0, ready: () => true };

describe('service metrics', () => {
  it('make each threshold in use a score bucket boundary, so scores just under it are counted apart', async () => {
    const registry = new Registry();
    const metrics = new ServiceMetrics(registry, 300, [0.2306]);
    metrics.addModel('m', { ...gauges, threshold: 0.2306 });
    // An attack tuned to stay just under the threshold, and one just over.
    metrics.recordImage('m', 'a', 0.23, false);
    metrics.recordImage('m', 'a', 0.231, true);
    const text = await registry.metrics();
    assert.equal(metricValue(text, 'awnet_adversarial_score_bucket', { model: 'm', le: '0.2306' }), 1);
    assert.equal(metricValue(text, 'awnet_adversarial_score_bucket', { model: 'm', le: '0.25' }), 2);
    assert.equal(metricValue(text, 'awnet_flag_threshold', { model: 'm' }), 0.2306);
  });

  it('count unscreened images apart from the screened ones, and evidence the ring dropped', async () => {
    const registry = new Registry();
    const metrics = new ServiceMetrics(registry, 300);
    metrics.addModel('plain', { ...gauges, threshold: 0 });
    metrics.recordUnscreened('plain', 'a');
    let dropped = 3;
    metrics.watchEvidence(() => dropped);
    let text = await registry.metrics();
    assert.equal(metricValue(text, 'awnet_images_unscreened_total', { model: 'plain' }), 1);
    assert.equal(metricValue(text, 'awnet_images_total', { model: 'plain' }), 0);
    assert.equal(metricValue(text, 'awnet_evidence_dropped_total'), 3);
    dropped = 5;
    text = await registry.metrics();
    assert.equal(metricValue(text, 'awnet_evidence_dropped_total'), 5);
  });
});
