import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { encodeImage } from '../../src/server/image.js';
import { image, metricValue, startServer, type TestServer } from '../server/helpers.js';
import { writeSyntheticModel } from '../server/synthetic-model.js';
import { freePort, waitFor } from '../../bench/drill/processes.js';
import { repoPath, run, type RunResult } from '../../bench/drill/repo.js';
import { readPackageJson, servingImports } from './serving-closure.js';

// The cpu image, built from the real Dockerfile by podman and run as a container.
// scripts/test-image.sh (npm run test:image) prepares podman and the base image, then
// runs this file with AWNET_IMAGE_TEST=1; npm test leaves it out (a build takes minutes).

const TAG = 'localhost/awnet-serve:test-cpu';
/** Explicit limits: some hosts hand containers limits too low for npm and Node (measured: a build fails without them). */
const ULIMITS = ['--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=32768:32768'];
/** The host's network: no bridge, NAT or iptables needed, on any host podman runs on. */
const NETWORK = ['--network', 'host'];
/** What Kubernetes gives the pod (k8s/base/deployment.yaml): read-only root, a writable /tmp, no capabilities. */
const HARDENED = ['--read-only', '--tmpfs', '/tmp:rw,size=64m,mode=1777', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges'];
/** MiB. The serving image with the training packages and every platform's binaries was about 1 GB; now about 430 MiB. */
const SIZE_BUDGET_MB = 600;

const podman = (args: readonly string[], timeoutMs = 120_000): Promise<RunResult> => run('podman', args, { timeoutMs });
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

/** Starts the image detached on free loopback ports; resolves once /v2/health/ready answers 200. */
async function startContainer(name: string, extra: readonly string[] = []): Promise<{ base: string; admin: string }> {
  const port = await freePort();
  const adminPort = await freePort();
  const started = await podman(['run', '-d', '--name', name, ...NETWORK, ...HARDENED, ...ULIMITS, '-e', 'AWNET_HOST=127.0.0.1', '-e', `AWNET_PORT=${port}`, '-e', `AWNET_ADMIN_PORT=${adminPort}`, ...extra, TAG]);
  assert.equal(started.code, 0, started.stderr);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${name} to be ready`, 90_000, async () => {
    const state = await podman(['inspect', '--format', '{{.State.Running}}', name]);
    if (state.stdout.trim() !== 'true') throw new Error(`${name} is not running:\n${(await podman(['logs', name])).stderr}`);
    return (await fetch(`${base}/v2/health/ready`)).ok || undefined;
  });
  return { base, admin: `http://127.0.0.1:${adminPort}` };
}

const remove = (name: string): Promise<RunResult> => podman(['rm', '--force', name]);

describe('the cpu image, built and run with podman', { skip: process.env.AWNET_IMAGE_TEST === '1' ? false : 'built and run by npm run test:image (a build takes minutes)' }, () => {
  let buildSeconds = 0;

  before(async () => {
    const ca = process.env.AWNET_IMAGE_NPM_CA;
    const started = Date.now();
    const build = await podman(
      ['build', '--format', 'docker', '--pull=never', '--target', 'cpu', ...NETWORK, ...ULIMITS, ...(ca ? ['--secret', `id=npm-ca,src=${ca}`] : []), '--tag', TAG, repoPath()],
      45 * 60_000,
    );
    buildSeconds = (Date.now() - started) / 1000;
    assert.equal(build.code, 0, `podman build failed:\n${(build.stdout + build.stderr).slice(-6000)}`);
  });

  it('runs the Node.js of .nvmrc as UID 10001, keeps its HEALTHCHECK, and holds only what serving needs', async (t) => {
    type Health = { Test: string[] } | undefined;
    const [info] = JSON.parse((await podman(['image', 'inspect', TAG])).stdout) as { Size: number; Config: { User: string; Healthcheck?: Health }; Healthcheck?: Health; HealthCheck?: Health }[];
    assert.ok(info);
    assert.equal(info.Config.User, '10001:10001');
    const health = info.Healthcheck ?? info.HealthCheck ?? info.Config.Healthcheck;
    assert.ok(health?.Test.join(' ').includes('/v2/health/ready'), 'the HEALTHCHECK survived the build (docker format)');
    const version = await podman(['run', '--rm', ...NETWORK, ...ULIMITS, TAG, '--version']);
    assert.equal(version.stdout.trim(), `v${(await readFile(repoPath('.nvmrc'), 'utf8')).trim()}`);

    // What is inside: packages, onnxruntime's platforms, models, compiled code.
    const listing = await podman([
      'run', '--rm', ...NETWORK, ...ULIMITS, TAG, '-e',
      `const fs = require('fs');
       const top = fs.readdirSync('node_modules').flatMap((d) => d.startsWith('@') ? fs.readdirSync('node_modules/' + d).map((s) => d + '/' + s) : [d]);
       const ort = 'node_modules/onnxruntime-node/bin/napi-v6';
       const platforms = fs.readdirSync(ort).flatMap((os) => fs.readdirSync(ort + '/' + os).map((cpu) => os + '/' + cpu));
       console.log(JSON.stringify({ top, platforms, models: fs.readdirSync('models'), dist: fs.readdirSync('dist') }));`,
    ]);
    assert.equal(listing.code, 0, listing.stderr);
    const inside = JSON.parse(listing.stdout) as { top: string[]; platforms: string[]; models: string[]; dist: string[] };
    const imported = servingImports().packages;
    const pkg = readPackageJson();
    const trainingOnly = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies ?? {})].filter((n) => !imported.has(n));
    assert.deepEqual(inside.top.filter((p) => trainingOnly.includes(p) || p.startsWith('@tensorflow/')), [], 'no training-only package');
    for (const p of imported) assert.ok(inside.top.includes(p), `${p} is installed`);
    assert.deepEqual(inside.platforms, ['linux/x64'], "only onnxruntime's Linux x64 binaries");
    assert.ok(inside.models.length > 0 && inside.models.every((f) => f.endsWith('.onnx')), `models: ${inside.models.join(', ')}`);
    assert.deepEqual(inside.dist, ['src']);

    t.diagnostic(`podman build: ${buildSeconds.toFixed(0)} s; image ${mb(info.Size)}; ${inside.top.length} top-level packages`);
    assert.ok(info.Size < SIZE_BUDGET_MB * 1024 * 1024, `image ${mb(info.Size)} over ${SIZE_BUDGET_MB} MiB`);
  });

  describe('serving, read-only and unprivileged', () => {
    const name = `awnet-image-test-${process.pid}`;
    let base = '';
    let admin = '';
    let host: TestServer;

    before(async () => {
      await remove(name);
      ({ base, admin } = await startContainer(name));
      // The same model served by this checkout, to compare answers with.
      host = await startServer([repoPath('models', 'fmnist-tiny-awnet.onnx')], {}, { listen: true });
    });
    after(async () => {
      await host?.close();
      await remove(name);
    });

    it('answers health probes, and the image HEALTHCHECK passes', async () => {
      assert.equal((await fetch(`${base}/v2/health/live`)).status, 200);
      assert.equal((await fetch(`${base}/v2/health/ready`)).status, 200);
      const check = await podman(['healthcheck', 'run', name]);
      assert.equal(check.code, 0, check.stdout + check.stderr);
    });

    it('classifies Fashion-MNIST images exactly as this checkout does', async () => {
      const data = await loadFashionMnist({ split: 'test', limit: 8 });
      for (let i = 0; i < 8; i++) {
        const pixels = Uint8Array.from(data.images.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255));
        const png = await encodeImage(pixels, { channels: 1, height: 28, width: 28 }, 'png');
        const ask = async (url: string) => {
          const response = await fetch(`${url}/v1/classify`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png });
          assert.equal(response.status, 200);
          return ((await response.json()) as { results: { label: string; probabilities: number[]; adversarial: { score: number } }[] }).results[0]!;
        };
        const [inImage, here] = [await ask(base), await ask(host.url)];
        assert.equal(inImage.label, here.label, `image ${i}`);
        inImage.probabilities.forEach((p, k) => assert.ok(Math.abs(p - (here.probabilities[k] ?? NaN)) < 1e-5, `image ${i}, class ${k}: ${p} vs ${here.probabilities[k]}`));
        assert.ok(Math.abs(inImage.adversarial.score - here.adversarial.score) < 1e-5);
      }
      assert.equal((await fetch(`${base}/metrics`)).status, 404, 'metrics are not on the inference port');
      const metrics = await (await fetch(`${admin}/metrics`)).text();
      assert.equal(metricValue(metrics, 'awnet_images_total', { model: 'fmnist-tiny-awnet' }), 8);
      assert.equal(metricValue(metrics, 'awnet_execution_provider_fallback', { model: 'fmnist-tiny-awnet' }), 0);
    });

    it('refuses a bad input with its stable error code', async () => {
      const notImage = await fetch(`${base}/v1/classify`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: 'this is not a picture' });
      assert.equal(notImage.status, 400);
      assert.equal(((await notImage.json()) as { code: string }).code, 'AWNET_NOT_AN_IMAGE');
      const text = await fetch(`${base}/v1/classify`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
      assert.equal(text.status, 415);
      assert.equal((await fetch(`${base}/v1/classify`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: await image(0.5) })).status, 200, 'still serving');
    });

    it('runs as UID 10001 on a read-only root file system, with /tmp writable', async () => {
      const exec = (script: string) => podman(['exec', name, 'node', '-e', script]);
      assert.equal((await exec("process.stdout.write(process.getuid() + ':' + process.getgid())")).stdout, '10001:10001');
      const write = await exec("require('fs').writeFileSync('/app/models/x', 'x')");
      assert.notEqual(write.code, 0);
      assert.match(write.stderr, /EROFS|EACCES/);
      assert.equal((await exec("require('fs').writeFileSync('/tmp/x', 'x')")).code, 0);
    });
  });

  it('SIGTERM reaches node as PID 1: every request in flight is answered, then it exits 0 within the grace period', async () => {
    const name = `awnet-image-drain-${process.pid}`;
    // A model whose batches take a while, mounted as users mount theirs.
    const dir = await mkdtemp(path.join(tmpdir(), 'awnet-image-models-'));
    writeSyntheticModel({ name: 'slow', slowMatmuls: 24, slowSize: 1024, dir });
    await chmod(dir, 0o755);
    await chmod(path.join(dir, 'slow.onnx'), 0o644);
    try {
      await remove(name);
      const { base, admin } = await startContainer(name, [
        '-v', `${dir}:/models:ro`,
        '-e', 'AWNET_MODELS=/models/slow.onnx',
        '-e', 'AWNET_MAX_BATCH_SIZE=1',
        '-e', 'AWNET_MAX_BATCH_DELAY_MS=0',
        '-e', 'AWNET_SHUTDOWN_GRACE_MS=20000',
      ]);
      const png = await image(0.4);
      const requests = Array.from({ length: 6 }, () => fetch(`${base}/v1/classify`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png }));
      await waitFor('the requests to be accepted', 10_000, async () =>
        metricValue(await (await fetch(`${admin}/metrics`)).text(), 'awnet_images_in_flight', { model: 'slow' }) >= 4 ? true : undefined,
      );
      const signalled = Date.now();
      const kill = await podman(['kill', '--signal', 'TERM', name]);
      assert.equal(kill.code, 0, kill.stderr);
      const answers = await Promise.all(requests);
      assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 200, 200, 200], 'every request in flight was answered');
      const waited = await podman(['wait', name], 60_000);
      assert.equal(waited.stdout.trim(), '0', 'the process exited 0 (it drained)');
      assert.ok(Date.now() - signalled < 20_000, `exited ${Date.now() - signalled} ms after SIGTERM`);
      const logs = await podman(['logs', name]);
      const text = logs.stdout + logs.stderr;
      assert.match(text, /SIGTERM received: draining/, 'node, as PID 1, got the signal');
      assert.match(text, /drained; bye/);
    } finally {
      await remove(name);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
