#!/usr/bin/env node
import { Command } from 'commander';
import { registerExportCommand } from '../../export/cli.js';
import { registerEvaluateCommand } from './evaluate.js';
import { registerTrainCommand } from './train.js';
import { registerPrometheusRuleCommand } from './prometheus-rule.js';

const program = new Command()
  .name('awnet')
  .description('Train, evaluate and export AW-Net models.')
  .showHelpAfterError();

registerPrometheusRuleCommand(program);
registerTrainCommand(program);
registerEvaluateCommand(program);
registerExportCommand(program);

await program.parseAsync(process.argv);
