#!/usr/bin/env node
import { Command } from 'commander';

const program = new Command()
  .name('awnet')
  .description('Train, evaluate and export AW-Net models.')
  .showHelpAfterError();

await program.parseAsync(process.argv);
