import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { DEFAULT_MODEL_FILES } from '../../src/server/config.js';
import { readModelMetadata } from '../../src/server/inference/model-metadata.js';
import { repoRoot } from '../../src/server/repo-root.js';
import { TINY_MODEL_ARGS } from '../train/helpers.js';
import { SAMPLES, testImagePixels } from './samples.js';
import { alive, listening, README, scratchCheckout, servicePid, shell, shellLine, tableCommand, type Shell } from './shell.js';

interface Classified {
  model: { name: string };
  results: { label: string }[];
}

/**
 * The README's serve and export examples, run as written in a scratch checkout. Two things
 * differ from a newcomer's terminal: `npm start` skips its rebuild (--ignore-scripts; the
 * test runs from that build) and the port is a free one instead of 8080.
 */
const NO_REBUILD = (command: string): string => command.replace(/\bnpm start\b/, 'npm start --ignore-scripts');
const onPort = (command: string, address: string): string => command.replaceAll('localhost:8080', address);

/** SIGTERM to what the README started (npm), then whether the server it started is gone too. */
async function stop(server: Shell): Promise<{ code: number | string; orphaned: boolean }> {
  const pid = servicePid(server.output());
  server.child.kill('SIGTERM');
  const code = await server.exited;
  const deadline = Date.now() + 5000;
  while (alive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const orphaned = alive(pid);
  if (orphaned) process.kill(pid, 'SIGKILL');
  return { code, orphaned };
}

/** Test-only train options: a tiny model on a few images, one worker. */
const SHRINK = ['--limit', '40', '--val-size', '8', '--val-pgd-size', '4', '--val-attack-steps', '1', '--val-square-queries', '8', '--batch-size', '16', '--workers', '1', ...TINY_MODEL_ARGS];
/** The settings SHRINK (and the epochs) change, and the run's own path. */
const SHRUNK = new Set(['limit', 'valSize', 'valPgdSize', 'valAttackSteps', 'valSquareQueries', 'batchSize', 'workers', 'epochs', 'out']);

/** The training settings a run's latest checkpoint (or a checkpoint directory) records. */
function trainedSettings(run: string): Record<string, unknown> {
  const latest = path.join(run, 'checkpoints', 'latest', 'checkpoint.json');
  const file = existsSync(latest) ? latest : path.join(run, 'checkpoint.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { trainerState: { settings: Record<string, unknown> } }).trainerState.settings;
}

describe('README examples, run as written', () => {
  let dir = '';
  before(async () => {
    dir = scratchCheckout();
    // The table's two train rows as written, in order; test-only options (later ones win)
    // shrink the model, the data and the static run to the 8 epochs the AW-Net row starts from.
    for (const [step, epochs] of [['train static', 8], ['train awnet', 1]] as const) {
      const train = shell(`${tableCommand(step)} ${[...SHRINK, '--epochs', String(epochs)].join(' ')}`, dir);
      assert.equal(await train.exited, 0, train.output());
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('train: the rows chain (static, then AW-Net from its epoch 8) with the settings of the shipped models', () => {
    for (const variant of ['static', 'awnet']) {
      const row = trainedSettings(path.join(dir, 'runs', variant));
      const shipped = trainedSettings(path.join(repoRoot(), 'models', `fmnist-tiny-${variant}.checkpoint`));
      assert.equal(row['out'], path.join(dir, 'runs', variant));
      for (const [key, value] of Object.entries(shipped)) {
        if (SHRUNK.has(key)) continue;
        if (key === 'overrides') assert.equal((row[key] as { beta?: number }).beta, (value as { beta?: number }).beta, `${variant}: omega beta`);
        else if (key === 'initFrom') assert.equal(row[key], path.join(dir, 'runs', 'static', 'checkpoints', path.basename(value as string)), `${variant}: --init-from`);
        else assert.deepEqual(row[key], value, `${variant}: ${key}`);
      }
    }
  });

  it('hold: the row records the router hold of the shipped AW-Net in the run', async () => {
    const command = tableCommand('hold');
    const held = shell(command, dir);
    assert.equal(await held.exited, 0, held.output());
    const config = (file: string): { hold?: unknown } => (JSON.parse(readFileSync(file, 'utf8')) as { config: { hold?: unknown } }).config;
    const shipped = config(path.join(repoRoot(), 'models', 'fmnist-tiny-awnet.checkpoint', 'checkpoint.json')).hold;
    assert.ok(shipped !== undefined, 'the shipped AW-Net records a hold');
    assert.deepEqual(config(path.join(dir, 'runs', 'awnet', 'checkpoints', 'latest', 'checkpoint.json')).hold, shipped);
  });

  it('the sample images are the Fashion-MNIST test images they are said to be', async () => {
    for (const sample of SAMPLES) {
      const file = path.join(repoRoot(), sample.file);
      assert.ok(README.includes(sample.file) || readFileSync(path.join(repoRoot(), 'docs/api.md'), 'utf8').includes(sample.file), `${sample.file} is used`);
      const decoded = await sharp(file).greyscale().raw().toBuffer();
      const expected = await testImagePixels(sample.index);
      const worst = Math.max(...decoded.map((v, i) => Math.abs(v - expected[i]!)));
      assert.ok(sample.format === 'png' ? worst === 0 : worst < 48, `${sample.file}: off by up to ${worst}; node dist/test/readme/samples.js writes it again`);
    }
  });

  it('evaluate: two training run directories side by side, named after their runs', async () => {
    const command = tableCommand('evaluate');
    assert.equal(command, 'npm run awnet -- evaluate runs/awnet runs/static --attack-limit 1000 --out runs/eval.json');
    // Test-only: later options win, so these shrink the run to a few images and one attack.
    const evaluated = shell(`${command} --limit 16 --attack-limit 4 --attacks fgsm --no-benign --no-curve`, dir);
    assert.equal(await evaluated.exited, 0, evaluated.output());
    const report = JSON.parse(readFileSync(path.join(dir, 'runs', 'eval.json'), 'utf8')) as { models: { name: string }[] };
    assert.deepEqual(report.models.map((m) => m.name), ['awnet', 'static']);
  });

  it('export: a training run directory becomes a model, with a loud warning about its few calibration images', async () => {
    const command = tableCommand('export');
    assert.equal(command, 'npm run awnet -- export --checkpoint runs/awnet --out runs/my-model.onnx');
    const exported = shell(command, dir);
    assert.equal(await exported.exited, 0, exported.output());
    assert.match(exported.output(), /^WARNING: the flagging threshold is calibrated on only \d+ clean images; a target FPR of 0\.01 needs at least 1000/m);
    const meta = await readModelMetadata(path.join(dir, 'runs', 'my-model.onnx'));
    assert.equal(meta.name, 'my-model');
  });

  it('serve: the exported model answers the curl example; SIGTERM to npm start stops the server too', async () => {
    const serve = tableCommand('serve');
    assert.equal(serve, 'AWNET_MODELS=runs/my-model.onnx npm start');
    const server = shell(NO_REBUILD(serve), dir, { AWNET_PORT: '0', AWNET_ADMIN_PORT: '0', AWNET_HOST: '127.0.0.1' });
    try {
      const address = await listening(server);
      const curl = shell(onPort(shellLine("curl -s -H 'content-type: image/png' --data-binary @docs/examples/shoe.png"), address), dir);
      assert.equal(await curl.exited, 0, curl.output());
      const answer = JSON.parse(curl.output()) as Classified;
      assert.equal(answer.model.name, 'my-model');
      assert.equal(answer.results.length, 1);
    } finally {
      const { code, orphaned } = await stop(server);
      assert.equal(orphaned, false, 'the server outlived npm start');
      assert.equal(code, 0, server.output());
      assert.match(server.output(), /SIGTERM received: draining/);
    }
  });

  it(
    'npm start: the shipped default model calls the sample a Sneaker, and counts it',
    { skip: DEFAULT_MODEL_FILES.every((f) => existsSync(path.join(repoRoot(), f))) ? false : 'the shipped models are not there' },
    async () => {
      assert.match(shellLine('npm ci && npm start'), /^npm ci && npm start$/);
      const server = shell(NO_REBUILD('npm start'), dir, { AWNET_PORT: '0', AWNET_ADMIN_PORT: '0', AWNET_HOST: '127.0.0.1' });
      try {
        const address = await listening(server);
        const admin = await listening(server, 60_000, 'admin');
        const curl = shell(onPort(shellLine("curl -s -H 'content-type: image/png' --data-binary @docs/examples/shoe.png"), address), dir);
        assert.equal(await curl.exited, 0, curl.output());
        const answer = JSON.parse(curl.output()) as Classified;
        assert.equal(answer.model.name, 'fmnist-tiny-awnet');
        assert.equal(answer.results[0]!.label, 'Sneaker');
        const metrics = shell(shellLine('curl -s localhost:9464/metrics').replaceAll('localhost:9464', admin), dir);
        assert.equal(await metrics.exited, 0);
        assert.match(metrics.output(), /^awnet_images_flagged_total\{[^}]*model="fmnist-tiny-awnet"[^}]*\} 0$/m);
        // What the README says that command prints, line for line.
        const shown = /prints\n[^\n]*\n\n```text\n([\s\S]*?)```/.exec(README)?.[1]?.trim().split('\n') ?? [];
        assert.ok(shown.length > 0, 'the README shows what the metrics command prints');
        assert.deepEqual(metrics.output().trim().split('\n'), shown);
        assert.doesNotMatch(server.output(), /FAIL/, 'a quiet start');
        assert.doesNotMatch(server.output(), /npm warn/i, 'npm has nothing to warn about');
        assert.doesNotMatch(server.output(), /"level":[4-6]0/, 'no warning or error from the service on a CPU-only machine');
      } finally {
        assert.deepEqual(await stop(server), { code: 0, orphaned: false }, server.output());
      }
    },
  );
});
