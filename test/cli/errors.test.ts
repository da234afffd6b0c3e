import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { CommanderError } from 'commander';
import { awnetProgram } from '../../src/cli/program.js';
import { errorLine, reportError } from '../../src/cli/report.js';

/** Runs the real program in this process; commander's exit becomes a throw, its output a string. */
async function awnet(args: readonly string[]): Promise<{ stderr: string; exitCode: number | undefined }> {
  let stderr = '';
  const program = awnetProgram((p) => {
    p.exitOverride().configureOutput({ writeErr: (s) => (stderr += s), writeOut: () => undefined });
  });
  try {
    await program.parseAsync(['node', 'awnet', ...args]);
    return { stderr, exitCode: undefined };
  } catch (err) {
    assert.ok(err instanceof CommanderError, String(err));
    return { stderr, exitCode: err.exitCode };
  }
}

describe('awnet: one error format for every command', () => {
  afterEach(() => {
    process.exitCode = undefined;
  });

  it('formats a known failure as `awnet <command>: <message> [CODE]`', () => {
    assert.equal(errorLine('export', 'checkpoint x does not exist', 'EXPORT_CHECKPOINT_NOT_FOUND'), 'awnet export: checkpoint x does not exist [EXPORT_CHECKPOINT_NOT_FOUND]');
    assert.equal(errorLine('', "unknown command 'x'", 'CLI_BAD_USAGE'), "awnet: unknown command 'x' [CLI_BAD_USAGE]");
    let out = '';
    reportError('train', Object.assign(new Error('data directory d does not exist'), { code: 'DATA_DIR_NOT_FOUND' }), (t) => (out += t));
    assert.equal(out, 'awnet train: data directory d does not exist [DATA_DIR_NOT_FOUND]\n');
    assert.equal(process.exitCode, 1);
  });

  it('keeps the stack of anything else, which is a bug', () => {
    let out = '';
    reportError('evaluate', new TypeError('x is undefined'), (t) => (out += t));
    assert.match(out, /^awnet evaluate: TypeError: x is undefined\n\s+at /);
    assert.equal(process.exitCode, 1);
  });

  it("`--epochs ''` and other empty numbers are an error in every command, never 0", async () => {
    const cases: [string, string[]][] = [
      ['train', ['train', '--epochs', '']],
      ['train', ['train', '--seed', ' ']],
      ['evaluate', ['evaluate', 'runs/x', '--limit', '']],
      ['evaluate', ['evaluate', 'runs/x', '--split-seed', '']],
      ['export', ['export', '--checkpoint', 'runs/x', '--out', 'x.onnx', '--calibration-size', '']],
      ['export', ['export', '--checkpoint', 'runs/x', '--out', 'x.onnx', '--split-seed', '']],
    ];
    for (const [command, args] of cases) {
      const r = await awnet(args);
      assert.equal(r.exitCode, 1, args.join(' '));
      assert.match(r.stderr, new RegExp(`^awnet ${command}: option '--[a-z-]+ <[a-z]+>' argument '\\s*' is invalid\\. Expected an integer ≥ [01]\\. \\[CLI_BAD_USAGE\\]$`, 'm'));
    }
  });

  it("commander's own errors read the same: a bad choice, a missing option, an unknown option or command", async () => {
    const choice = await awnet(['train', '--variant', 'bogus']);
    assert.match(choice.stderr, /^awnet train: option '--variant <name>' argument 'bogus' is invalid\. Allowed choices are static, dynamic-only, mixbn-single-bn, awnet\. \[CLI_BAD_USAGE\]$/m);
    const missing = await awnet(['export', '--out', 'x.onnx']);
    assert.match(missing.stderr, /^awnet export: required option '--checkpoint <dir>' not specified \[CLI_BAD_USAGE\]$/m);
    const unknown = await awnet(['evaluate', 'runs/x', '--bogus']);
    assert.match(unknown.stderr, /^awnet evaluate: unknown option '--bogus' \[CLI_BAD_USAGE\]$/m);
    const command = await awnet(['bogus']);
    assert.match(command.stderr, /^awnet: unknown command 'bogus' \[CLI_BAD_USAGE\]$/m);
  });
});
