import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HttpOracle } from '../../src/attacks/http-oracle.js';
import { squareAttack } from '../../src/attacks/square.js';
import { startServer, type TestServer } from '../server/helpers.js';
import { writeSyntheticModel } from '../server/synthetic-model.js';

const PER = 28 * 28;

/** n flat grey images on the 8-bit grid, image i at brightness levels[i]/255. */
function greyImages(levels: readonly number[]): Float32Array {
  const out = new Float32Array(levels.length * PER);
  levels.forEach((level, i) => out.fill(level / 255, i * PER, (i + 1) * PER));
  return out;
}

/**
 * The Square Attack's HTTP oracle against the real service (a synthetic ONNX model whose
 * adversarial score is above 0.5 exactly when an image's mean brightness is above 0.5).
 */
describe('the service as a score oracle over HTTP', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer([writeSyntheticModel({ name: 'oracle' })], {}, { listen: true });
  });
  after(() => server.close());

  it("reads the input shape and labels from the model's metadata and answers probabilities and scores", async () => {
    const oracle = await HttpOracle.fromService(server.url, 'oracle', 2);
    assert.deepEqual(oracle.shape, { height: 28, width: 28, channels: 1 });
    assert.equal(oracle.numClasses, 10);
    const answer = await oracle.query(greyImages([40, 220, 60]), 3);
    assert.equal(oracle.requests, 2, 'three images, two per request');
    assert.equal(oracle.images, 3);
    for (let i = 0; i < 3; i++) {
      const sum = answer.probabilities.subarray(i * 10, (i + 1) * 10).reduce((a, p) => a + p, 0);
      assert.ok(Math.abs(sum - 1) < 1e-4, `image ${i}: probabilities sum to ${sum}`);
    }
    const [dark, bright, dim] = answer.scores;
    assert.ok((bright as number) > 0.5 && (dark as number) < 0.5 && (dim as number) < 0.5, `scores ${[...answer.scores].join(', ')}`);
  });

  it('runs the Square Attack against the service within its budget, on the 8-bit grid, inside the ball', async () => {
    const oracle = await HttpOracle.fromService(server.url, 'oracle');
    const x = greyImages([100, 150]);
    const eps = 0.1;
    const r = await squareAttack(oracle, x, Int32Array.from([3, 7]), { eps, queries: 4, seed: 1, lambda: 1, levels: 255 });
    assert.deepEqual([...r.queries], [4, 4]);
    assert.equal(oracle.images, 8);
    r.adversarial.forEach((v, i) => {
      assert.ok(Math.abs(v * 255 - Math.round(v * 255)) < 1e-3, `pixel ${i} = ${v} is off the 8-bit grid`);
      assert.ok(Math.abs(v - (x[i] as number)) <= eps + 1e-6 && v >= 0 && v <= 1, `pixel ${i} = ${v} leaves the ball`);
    });
  });

  it('fails with ATTACK_ORACLE_FAILED for a model the service does not serve', async () => {
    await assert.rejects(HttpOracle.fromService(server.url, 'missing'), { code: 'ATTACK_ORACLE_FAILED' });
    const oracle = new HttpOracle({ url: server.url, model: 'missing', shape: { height: 28, width: 28, channels: 1 }, numClasses: 10 });
    await assert.rejects(oracle.query(greyImages([10]), 1), { code: 'ATTACK_ORACLE_FAILED', message: /answered 404/ });
  });
});
