import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { DEFAULT_MODEL_FILES } from '../../src/server/config.js';
import { encodeImage } from '../../src/server/image.js';
import { repoRoot } from '../../src/server/repo-root.js';
import { GREY_28 } from './helpers.js';

const shipped = DEFAULT_MODEL_FILES.map((f) => path.join(repoRoot(), f));
const missing = shipped.filter((f) => !existsSync(f));

describe('npm start with no configuration', () => {
  it(
    'serves the shipped models, the AW-Net first, and classifies Fashion-MNIST test images as well as its model card says',
    { skip: missing.length > 0 ? `not shipped yet: ${missing.map((f) => path.relative(repoRoot(), f)).join(', ')}` : false },
    async () => {
      const child = spawn(process.execPath, [path.join(repoRoot(), 'dist/src/main.js')], {
        // Only the port is chosen: everything else is the defaults `npm start` uses.
        env: { ...process.env, AWNET_PORT: '0', AWNET_ADMIN_PORT: '0', AWNET_HOST: '127.0.0.1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      try {
        const url = await new Promise<string>((resolve, reject) => {
          let out = '';
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
            if (match) resolve(match[1]!);
          });
          void exited.then((code) => reject(new Error(`exited with ${code}: ${out}`)));
        });
        assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200);
        const count = 100;
        const test = await loadFashionMnist({ split: 'test', limit: count });
        let right = 0;
        for (let i = 0; i < count; i++) {
          const png = await encodeImage(Uint8Array.from(test.images.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255)), GREY_28, 'png');
          const res = await fetch(`${url}/v1/classify`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png });
          assert.equal(res.status, 200);
          const body = (await res.json()) as { model: { name: string; labels: string[] }; results: { label: string }[] };
          assert.equal(body.model.name, 'fmnist-tiny-awnet');
          if (body.results[0]!.label === body.model.labels[test.labels[i]!]) right++;
        }
        // A trained model, not a fresh one: far above the 10 % of guessing...
        assert.ok(right >= 30, `${right} of ${count} right`);
        // ...and served as it was evaluated: the accuracy recorded at export time (on the first
        // 1,000 test images, a superset of these) within about three standard errors.
        const sidecar = JSON.parse(readFileSync(shipped[0]!.replace(/\.onnx$/, '.json'), 'utf8')) as {
          evaluation: { model: { cleanAccuracy: number } };
        };
        const recorded = sidecar.evaluation.model.cleanAccuracy;
        assert.ok(Math.abs(right / count - recorded) <= 0.15, `${right} of ${count} right; the model card records ${recorded}`);
        // The router-less baseline is not served by default: attacks sent to it would never be flagged.
        assert.equal((await fetch(`${url}/v2/models/fmnist-tiny-static/ready`)).status, 404);
      } finally {
        child.kill('SIGTERM');
        assert.equal(await exited, 0);
      }
    },
  );
});
