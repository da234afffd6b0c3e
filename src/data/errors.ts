/**
 * Dataset errors carry a stable `code` so callers (the CLI, tests, other tools) can tell
 * them apart without parsing messages, and a `file` naming what was being read.
 */
export type DataErrorCode =
  | 'DATA_DIR_NOT_FOUND'
  | 'DATA_FILE_NOT_FOUND'
  | 'DATA_FILE_UNREADABLE'
  | 'DATA_BAD_GZIP'
  | 'DATA_BAD_MAGIC'
  | 'DATA_TRUNCATED'
  | 'DATA_BAD_RECORD_SIZE'
  | 'DATA_BAD_LABEL'
  | 'DATA_COUNT_MISMATCH'
  | 'DATA_BAD_SHAPE'
  | 'DATA_UNDECODABLE_IMAGE'
  | 'DATA_EMPTY'
  | 'DATA_BAD_OPTION';

export class DataError extends Error {
  readonly code: DataErrorCode;
  readonly file: string | undefined;

  constructor(code: DataErrorCode, message: string, file?: string) {
    super(message);
    this.name = 'DataError';
    this.code = code;
    this.file = file;
  }
}

export function isDataError(err: unknown): err is DataError {
  return err instanceof DataError;
}
