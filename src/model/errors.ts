/** Stable codes of the errors the model and checkpoint modules throw. */
export type ModelErrorCode =
  | 'MODEL_UNKNOWN_PRESET'
  | 'MODEL_BAD_CONFIG'
  | 'MODEL_BAD_INPUT'
  | 'MODEL_DISPOSED'
  | 'CHECKPOINT_MISSING'
  | 'CHECKPOINT_CORRUPT'
  | 'CHECKPOINT_TRUNCATED'
  | 'CHECKPOINT_MISMATCH'
  | 'CHECKPOINT_OPTIMIZER';

export class ModelError extends Error {
  readonly code: ModelErrorCode;

  constructor(code: ModelErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelError';
    this.code = code;
  }
}
