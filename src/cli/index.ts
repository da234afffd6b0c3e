#!/usr/bin/env node
import { awnetProgram } from './program.js';

await awnetProgram().parseAsync(process.argv);
