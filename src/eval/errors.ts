/**
 * Evaluation errors carry a stable `code` so the CLI and tests can tell them apart
 * without parsing messages.
 */
export type EvalErrorCode =
  | 'EVAL_BAD_OPTION'
  | 'EVAL_BAD_INPUT'
  | 'EVAL_MODEL_MISMATCH'
  | 'EVAL_OUTPUT_UNWRITABLE';

export class EvalError extends Error {
  readonly code: EvalErrorCode;

  constructor(code: EvalErrorCode, message: string) {
    super(message);
    this.name = 'EvalError';
    this.code = code;
  }
}
