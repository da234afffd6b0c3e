import { Command } from 'commander';
import { registerEvaluateCommand } from './evaluate.js';
import { registerExportCommand } from './export.js';
import { registerHoldCommand } from './hold.js';
import { useErrorFormat } from './report.js';
import { registerTrainCommand } from './train.js';

/**
 * The `awnet` program with every command. `configure` runs before the commands are added, so
 * what it sets (output streams, exitOverride in tests) is inherited by all of them.
 */
export function awnetProgram(configure: (program: Command) => void = () => undefined): Command {
  const program = new Command().name('awnet').description('Train, evaluate and export AW-Net models.').showHelpAfterError("(run 'awnet <command> --help' for its options)");
  configure(program);
  registerTrainCommand(program);
  registerEvaluateCommand(program);
  registerExportCommand(program);
  registerHoldCommand(program);
  useErrorFormat(program);
  return program;
}
