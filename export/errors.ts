/**
 * Export errors carry a stable `code` so the CLI and tests can tell them apart without
 * parsing messages; messages name the bad value and what would be valid.
 */
export type ExportErrorCode =
  | 'EXPORT_CHECKPOINT_NOT_FOUND'
  | 'EXPORT_CHECKPOINT_INVALID'
  | 'EXPORT_PRESET_MISMATCH'
  | 'EXPORT_OUTPUT_UNWRITABLE'
  | 'EXPORT_BAD_OPTION'
  | 'EXPORT_MISSING_VARIABLE'
  | 'EXPORT_BAD_VARIABLE_SHAPE'
  | 'EXPORT_BAD_EVALUATION'
  | 'EXPORT_CALIBRATION_FAILED';

export class ExportError extends Error {
  readonly code: ExportErrorCode;

  constructor(code: ExportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExportError';
    this.code = code;
  }
}

export function isExportError(err: unknown): err is ExportError {
  return err instanceof ExportError;
}
