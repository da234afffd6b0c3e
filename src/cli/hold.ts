import type { Command } from 'commander';
import { checkpointOrSelf } from '../contract/run-directory.js';
import { recordHold } from '../model/checkpoint.js';
import { holdLabel } from '../model/router-hold.js';
import { mixCap, omegaBound } from './options.js';
import { action } from './report.js';

interface HoldFlags {
  readonly mixCap?: number;
  readonly omegaBound?: number | null;
  readonly out?: string;
}

export function registerHoldCommand(program: Command): void {
  program
    .command('hold')
    .description(
      "Record the router's hold on the network in a checkpoint: a cap on the P(clean) its MixBN mixes with at inference and a bound on how far ω may move from 1. " +
        'evaluate, export (the ONNX graph) and the service then run the model under it; the adversarial score stays the router\'s own. Choose it with evaluate --split validation --mix-cap.',
    )
    .argument('<checkpoint>', 'checkpoint directory, or a training run directory (its latest checkpoint)')
    .option('--mix-cap <c>', 'MixBN mixes with min(P(clean), c), c in [0, 1] (1: no cap; default: keep what the checkpoint records)', mixCap)
    .option('--omega-bound <b>', 'ω clipped to [1 − b, 1 + b], or none (default: keep what the checkpoint records)', omegaBound)
    .option('--out <dir>', 'write a copy there instead of changing the checkpoint in place')
    .action(
      action('hold', async (path: string, flags: HoldFlags) => {
        const { dir } = await checkpointOrSelf(path);
        const { hold, previous } = await recordHold(
          dir,
          {
            ...(flags.mixCap !== undefined ? { pCleanCap: flags.mixCap } : {}),
            ...(flags.omegaBound !== undefined ? { omegaBound: flags.omegaBound } : {}),
          },
          flags.out,
        );
        const before = previous === undefined ? 'none recorded' : holdLabel(previous);
        process.stdout.write(`${flags.out ?? dir}: router hold ${holdLabel(hold)} (P(clean) cap ${hold.pCleanCap}, ω bound ${hold.omegaBound ?? 'none'}; was ${before})\n`);
      }),
    );
}
