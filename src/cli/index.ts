#!/usr/bin/env node
import { refuseOldNode } from '../node-version.js';

refuseOldNode('awnet');
// Imported only once the Node version is known to be supported.
const { awnetProgram } = await import('./program.js');
await awnetProgram().parseAsync(process.argv);
