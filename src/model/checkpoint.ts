/** Saving and restoring training state; the format is described in checkpoint-format.ts. */
export * from './checkpoint-format.js';
export { loadCheckpoint, readCheckpointMeta, type LoadCheckpointOptions, type LoadedCheckpoint } from './checkpoint-load.js';
export { saveCheckpoint } from './checkpoint-save.js';
export { recordHold } from './checkpoint-hold.js';
