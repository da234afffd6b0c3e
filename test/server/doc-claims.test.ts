import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_MODEL_FILES } from '../../src/server/config.js';
import { validationMessage } from '../../src/server/http/error-handler.js';
import { readModelMetadata } from '../../src/server/inference/model-metadata.js';
import { repoRoot } from '../../src/server/repo-root.js';
import { image, metricValue, startServer, type TestServer } from './helpers.js';
import { writeSyntheticModel } from './synthetic-model.js';

const read = (file: string): string => readFileSync(path.join(repoRoot(), file), 'utf8');

interface Classified {
  results: { adversarial: { score: number; flagged: boolean } }[];
}

describe('what the docs say the service does, it does', () => {
  it("docs/api.md's example answers carry the version of the default shipped model", async () => {
    const meta = await readModelMetadata(path.join(repoRoot(), DEFAULT_MODEL_FILES[0]!));
    const api = read('docs/api.md');
    const shown = [...api.matchAll(/"(?:model_)?version": "([^"]*)"/g)].map((m) => m[1]);
    assert.ok(shown.length >= 2, 'the classify and infer examples show a version');
    for (const version of shown) assert.equal(version, meta.version);
    assert.match(api, new RegExp(`/versions/${meta.version.replace(/\./g, '\\.')}\\b`), 'a version path example that is not a 404');
  });

  it('every doc describes flagging as strictly above the threshold, never as reaching it', () => {
    for (const file of ['README.md', 'docs/api.md', 'docs/alerts.md', 'docs/design.md', 'export/README.md']) {
      const text = read(file).replace(/\s+/g, ' ');
      assert.doesNotMatch(text, /reach(es|ing)? (the|its) threshold|at or above (the|its) threshold|≥ (the )?threshold|score >= threshold/i, file);
    }
    assert.match(read('docs/alerts.md').replace(/\s+/g, ' '), /flagged when the score is strictly above the model's threshold/);
  });

  it('a query-string error names its context once', () => {
    assert.equal(validationMessage({ message: 'querystring/top_k must be >= 1', validationContext: 'querystring' }), 'querystring/top_k must be >= 1');
    assert.equal(validationMessage({ message: 'must be object', validationContext: 'body' }), 'body must be object');
  });

  describe('served', () => {
    let probe: TestServer;
    before(async () => {
      probe = await startServer([writeSyntheticModel({ name: 'probe' })]);
    });
    after(() => probe.close());

    it('says top_k=0 is wrong without repeating a word', async () => {
      const res = await probe.app.inject({ method: 'POST', url: '/v1/classify?top_k=0', headers: { 'content-type': 'image/png' }, payload: await image(0.3) });
      const body = res.json<{ error: string; code: string }>();
      assert.equal(body.code, 'AWNET_INVALID_REQUEST');
      assert.match(body.error, /top_k/);
      assert.doesNotMatch(body.error, /\b(\w+) \1\b/);
    });

    it('does not flag an image whose score equals the threshold, and flags it just below', async () => {
      const png = await image(0.45);
      const classify = async (server: TestServer) =>
        (await server.app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'image/png' }, payload: png })).json<Classified>().results[0]!.adversarial;
      const { score } = await classify(probe);
      for (const [threshold, flagged] of [[score, false], [score * (1 - 1e-6), true]] as const) {
        const server = await startServer([writeSyntheticModel({ name: 'edge', threshold })]);
        try {
          const answer = await classify(server);
          assert.equal(answer.score, score);
          assert.equal(metricValue((await server.app.admin.inject('/metrics')).body, 'awnet_flag_threshold', { model: 'edge' }), threshold);
          assert.equal(answer.flagged, flagged, `score ${score}, threshold ${threshold}`);
        } finally {
          await server.close();
        }
      }
    });
  });
});
