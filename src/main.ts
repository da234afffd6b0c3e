import { refuseOldNode } from './node-version.js';

refuseOldNode('awnet-serve');
// Imported only once the Node version is known to be supported.
await import('./serve.js');
