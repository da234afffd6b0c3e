import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { validate } from 'dockerfile-utils';
import { dockerignorePatterns, instructions, isIgnored, parseDockerfile, readDockerfile, type ParsedDockerfile, type Stage } from './dockerfile.js';
import { repoPath, run } from '../../bench/drill/repo.js';
import { readPackageJson, servingImports } from './serving-closure.js';

interface LintIssue {
  line: string;
  content: string;
  title: string;
  category: string;
}

async function dockerfilelint(text: string): Promise<LintIssue[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'awnet-dockerfile-'));
  try {
    const file = path.join(dir, 'Dockerfile');
    await writeFile(file, text);
    const result = await run(repoPath('node_modules', '.bin', 'dockerfilelint'), ['-j', file]);
    const report = JSON.parse(result.stdout) as { files: { issues: LintIssue[] }[] };
    return report.files.flatMap((f) => f.issues);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * dockerfilelint 1.8 predates two Dockerfile features this file uses, and reports them
 * wrongly: a FROM whose image comes from an ARG (`FROM ${NODE_IMAGE}`; the ARG defaults
 * carry pinned tags, checked below) or names an earlier stage, and HEALTHCHECK's
 * `--start-period` (its option regex stops at the hyphen). Only those exact reports are
 * accepted; anything else fails the test.
 */
function knownFalsePositive(issue: LintIssue, stageNames: ReadonlySet<string>): boolean {
  if (issue.title === 'Base Image Missing Tag') {
    const base = /^FROM\s+(\S+)/.exec(issue.content)?.[1] ?? '';
    return /^\$\{[A-Z_]+\}$/.test(base) || stageNames.has(base);
  }
  if (issue.title === 'Invalid Argument Format') return /^HEALTHCHECK\s.*--start-period=\d+s/.test(issue.content);
  return false;
}

const stage = (parsed: ParsedDockerfile, name: string): Stage =>
  parsed.stages.find((s) => s.name === name) ?? assert.fail(`no stage ${name}`);
const all = (s: Stage, keyword: string): string[] => s.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

describe('Dockerfile', () => {
  let text = '';
  let parsed: ParsedDockerfile;
  before(async () => {
    text = await readDockerfile();
    parsed = parseDockerfile(text);
  });

  it('passes dockerfile-utils validation (the VS Code Docker validator)', () => {
    assert.deepEqual(validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`), []);
  });

  it('passes dockerfilelint, apart from its two known false positives', async () => {
    const names = new Set(parsed.stages.map((s) => s.name));
    const issues = await dockerfilelint(text);
    const real = issues.filter((i) => !knownFalsePositive(i, names));
    assert.deepEqual(real, []);
  });

  it('both linters fail on broken Dockerfiles (they can fail)', async () => {
    const broken = text.replace('HEALTHCHECK --interval=15s', 'HEALTHCHECK --interval=soon');
    assert.ok(validate(broken).some((d) => String(d.message).toLowerCase().includes('duration')));
    const sloppy = `FROM debian:bookworm-slim\nRUN apt-get update && apt-get install curl\n`;
    const titles = (await dockerfilelint(sloppy)).map((i) => i.title);
    assert.ok(titles.includes('Missing parameter for `apt-get`'), titles.join(', '));
  });

  it('pins every base image by tag (no latest), on the Node.js LTS the project requires', async () => {
    const images = [...parsed.globalArgs].filter(([name]) => name.endsWith('_IMAGE'));
    assert.ok(images.length >= 2);
    for (const [name, value] of images) assert.match(value, /^[a-z0-9./_-]+:[0-9][\w.-]*$/, `${name}=${value}`);
    // .nvmrc is the one Node version: CI installs it, the image runs it, engines requires its major.
    const nvmrc = (await readFile(repoPath('.nvmrc'), 'utf8')).trim();
    assert.match(nvmrc, /^(24|26)\.\d+\.\d+$/, 'a supported LTS line');
    assert.equal(parsed.globalArgs.get('NODE_IMAGE'), `node:${nvmrc}-bookworm-slim`);
    assert.equal(readPackageJson().engines.node, `>=${nvmrc.split('.')[0]}`);
    assert.match(parsed.globalArgs.get('CUDA_IMAGE') ?? '', /^nvidia\/cuda:12\.\d+\.\d+-cudnn-runtime-ubuntu22\.04$/);
    const known = new Set(parsed.stages.map((s) => s.name));
    for (const s of parsed.stages) {
      assert.ok(/^\$\{[A-Z_]+_IMAGE\}$/.test(s.base) || known.has(s.base), `stage ${s.name} FROM ${s.base}`);
    }
  });

  it('every step that reaches the npm registry can be given a CA bundle as a build secret', () => {
    const steps = parsed.stages.flatMap((st) => all(st, 'RUN').filter((r) => /\bnpm (ci|install)\b/.test(r)).map((r) => [st.name, r] as const));
    assert.ok(steps.length >= 4);
    for (const [name, r] of steps) {
      assert.match(r, /^--mount=type=secret,id=npm-ca\s/, `${name}: mounts the npm-ca secret`);
      assert.match(r, /if \[ -f \/run\/secrets\/npm-ca \]; then export NODE_EXTRA_CA_CERTS=\/run\/secrets\/npm-ca; fi/, `${name}: npm trusts it when given`);
    }
  });

  it('has cpu, gpu and gpu-train targets that run unprivileged with a health check', () => {
    for (const name of ['cpu', 'gpu', 'gpu-train']) {
      const s = stage(parsed, name);
      const users = all(s, 'USER');
      const last = users[users.length - 1] ?? '';
      assert.match(last, /^[1-9]\d*:[1-9]\d*$/, `${name}: last USER is a numeric non-root user`);
    }
    for (const name of ['cpu', 'gpu']) {
      const s = stage(parsed, name);
      const [health] = all(s, 'HEALTHCHECK');
      assert.ok(health?.includes('/v2/health/ready'), `${name}: HEALTHCHECK probes readiness`);
      assert.deepEqual(all(s, 'EXPOSE'), ['8080 9464']);
      assert.ok(all(s, 'ENV').some((e) => e.includes('AWNET_ADMIN_PORT=9464')), 'metrics on the admin port');
      assert.ok(all(s, 'ENV').some((e) => e.includes('AWNET_PORT=8080')));
      assert.deepEqual(all(s, 'CMD'), ['["dist/src/main.js"]']);
      assert.ok(all(s, 'COPY').some((c) => c.endsWith(' models/*.onnx ./models/')), `${name}: the ONNX models are baked in, and nothing else of models/`);
    }
    assert.ok(all(stage(parsed, 'gpu'), 'ENV').some((e) => e.includes('AWNET_EXECUTION_PROVIDERS=cuda,cpu')));
    assert.ok(all(stage(parsed, 'cpu'), 'ENV').some((e) => e.includes('AWNET_EXECUTION_PROVIDERS=cpu')));
    assert.equal(stage(parsed, 'gpu').base, '${CUDA_IMAGE}');
    assert.equal(stage(parsed, 'gpu-train').base, 'gpu');
  });

  it('serving images get node_modules only from production installs without the training packages', () => {
    const { packages: imported } = servingImports();
    const pkg = readPackageJson();
    const production = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies ?? {})];
    // What the service never imports is struck before npm ci: TensorFlow.js, the exporter's and the CLI's packages.
    const trainingOnly = production.filter((name) => !imported.has(name)).sort();
    assert.ok(trainingOnly.includes('@tensorflow/tfjs') && trainingOnly.includes('@tensorflow/tfjs-node-gpu'), trainingOnly.join(', '));
    assert.ok(imported.has('onnxruntime-node') && imported.has('fastify') && imported.has('sharp'));
    for (const [final, deps] of [['cpu', 'deps-cpu'], ['gpu', 'deps-gpu']] as const) {
      const copies = all(stage(parsed, final), 'COPY').filter((c) => c.includes('node_modules'));
      assert.equal(copies.length, 1, final);
      assert.match(copies[0] ?? '', new RegExp(`--from=${deps}\\b`));
      const install = all(stage(parsed, deps), 'RUN').find((r) => r.includes('npm ci')) ?? '';
      assert.match(install, /npm ci --omit=dev /, `${deps} installs production dependencies only`);
      assert.match(install, /--strict-allow-scripts/, `${deps} runs only approved install scripts`);
      const deleted = /npm pkg delete ([^&]+)&&/.exec(install)?.[1]?.trim().split(/\s+/) ?? [];
      assert.ok(install.indexOf('npm pkg delete') < install.indexOf('npm ci'), `${deps}: struck before the install, so never fetched`);
      const struck = deleted.flatMap((d) => (d === 'optionalDependencies' ? Object.keys(pkg.optionalDependencies ?? {}) : [d.replace(/^(dependencies|optionalDependencies)\./, '')])).sort();
      assert.deepEqual(struck, trainingOnly, `${deps} strikes exactly the packages the service does not import`);
      assert.ok(!deleted.includes('optionalDependencies') || Object.keys(pkg.optionalDependencies ?? {}).every((n) => !imported.has(n)));
      // onnxruntime-node ships its binaries for every platform; the image keeps Linux x64.
      for (const foreign of ['darwin', 'win32', 'linux/arm64']) assert.ok(install.includes(`node_modules/onnxruntime-node/bin/napi-v6/${foreign}`), `${deps}: removes ${foreign}`);
      assert.match(install, /test -f node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64\//);
      assert.ok(!all(stage(parsed, final), 'COPY').some((c) => c.includes('dist/export')), `${final}: no exporter`);
    }
    const gpu = all(stage(parsed, 'deps-gpu'), 'RUN').find((r) => r.includes('npm ci')) ?? '';
    assert.match(gpu, /npm ci [^&]*&& npm run install:cuda /, 'the CUDA provider is fetched after the install');
    assert.equal(pkg.allowScripts?.['onnxruntime-node'], false, "a plain npm ci never runs onnxruntime-node's download");
    assert.equal(pkg.scripts?.['install:cuda'], 'cd node_modules/onnxruntime-node && ONNXRUNTIME_NODE_INSTALL=true node script/install');
    assert.match(gpu, /libonnxruntime_providers_cuda\.so/);
    const cpu = all(stage(parsed, 'deps-cpu'), 'RUN').find((r) => r.includes('npm ci')) ?? '';
    assert.doesNotMatch(cpu, /cuda|tfjs-node-gpu=true/);
    // The training image has everything, with tfjs-node-gpu's install script approved.
    const train = all(stage(parsed, 'deps-gpu-train'), 'RUN').find((r) => r.includes('npm ci')) ?? '';
    assert.match(train, /^--mount=type=secret,id=npm-ca .*npm pkg set --json 'allowScripts\.@tensorflow\/tfjs-node-gpu=true'/);
    assert.doesNotMatch(train, /npm pkg delete/);
    assert.ok(all(stage(parsed, 'gpu-train'), 'COPY').some((c) => /--from=deps-gpu-train\b.*node_modules/.test(c)));
  });

  it('.dockerignore keeps the build context to what the Dockerfile copies', async () => {
    const patterns = dockerignorePatterns(await readFile(repoPath('.dockerignore'), 'utf8'));
    const fromContext = instructions(text)
      .filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))
      .flatMap((i) => {
        const parts = i.args.split(/\s+/).filter((p) => !p.startsWith('--'));
        return parts.slice(0, -1);
      });
    assert.ok(fromContext.includes('models/*.onnx') && fromContext.includes('src'));
    for (const source of fromContext) assert.equal(isIgnored(patterns, source), false, `${source} is copied but ignored`);
    for (const source of ['src/server/app.ts', 'models/fmnist-tiny-awnet.onnx', 'export/to-onnx.ts']) {
      assert.equal(isIgnored(patterns, source), false, source);
    }
    for (const junk of ['node_modules/sharp/package.json', 'dist/src/main.js', '.git/HEAD', 'runs/x/log.jsonl', 'test/deploy/k8s.test.ts', 'bench/reports/x.json', 'models/fmnist-tiny-awnet.checkpoint/weights.bin', 'models/fmnist-tiny-awnet.json', 'models/training-curve.png']) {
      assert.equal(isIgnored(patterns, junk), true, junk);
    }
  });
});
