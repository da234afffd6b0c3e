import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { minimumVersion, nodeVersionProblem } from '../src/node-version.js';
import { repoRoot } from '../src/server/repo-root.js';

const engines = (JSON.parse(readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
const [major] = minimumVersion(engines);

/** Runs an entry point under a Node that reports `version` (everything else is this Node). */
function runAs(version: string, entry: string, args: string[]) {
  const pretend = `Object.defineProperty(process.versions, 'node', { value: '${version}' });`;
  return spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(pretend)}`, path.join(repoRoot(), entry), ...args], {
    encoding: 'utf8',
    env: { ...process.env, AWNET_PORT: '0', AWNET_HOST: '127.0.0.1' },
    timeout: 30_000,
  });
}

describe('Node.js version check', () => {
  it('reads the lowest version of a >= range', () => {
    assert.deepEqual(minimumVersion('>=24'), [24, 0, 0]);
    assert.deepEqual(minimumVersion('>= 22.3.1'), [22, 3, 1]);
    assert.throws(() => minimumVersion('^24'), /not of the form >=X/);
  });

  it('refuses older majors, minors and patches and accepts the minimum and newer', () => {
    assert.match(nodeVersionProblem('20.20.2', '>=24', '/usr/bin/node') ?? '', /needs Node.js >=24 .* runs on v20.20.2 \(\/usr\/bin\/node\)/);
    assert.notEqual(nodeVersionProblem('24.1.9', '>=24.2', '/n'), undefined);
    assert.notEqual(nodeVersionProblem('24.2.0', '>=24.2.1', '/n'), undefined);
    assert.equal(nodeVersionProblem('24.0.0', '>=24', '/n'), undefined);
    assert.equal(nodeVersionProblem('25.0.1', '>=24.2', '/n'), undefined);
    assert.equal(nodeVersionProblem(process.versions.node, engines, process.execPath), undefined);
  });

  it('says how to get the right Node in the same line', () => {
    const line = nodeVersionProblem('20.20.2', '>=24', '/usr/bin/node') ?? '';
    assert.doesNotMatch(line, /\n/);
    assert.match(line, /export PATH="\$\(bash scripts\/node-lts\.sh\):\$PATH"/);
  });

  for (const [program, entry, args] of [
    ['awnet-serve', 'dist/src/main.js', []],
    ['awnet', 'dist/src/cli/index.js', ['--help']],
  ] as const) {
    it(`${program} stops on an older Node with that one line and exit code 1`, () => {
      const old = `${major - 4}.20.2`;
      const result = runAs(old, entry, [...args]);
      assert.equal(result.status, 1, result.stderr);
      assert.equal(result.stdout, '');
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.ok(lines[0]!.startsWith(`${program}: needs Node.js ${engines} (package.json engines) but runs on v${old}`), lines[0]);
    });
  }

  it('awnet runs on a Node that engines allows', () => {
    const result = runAs(`${major}.0.0`, 'dist/src/cli/index.js', ['--help']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /Usage: awnet/);
  });
});
