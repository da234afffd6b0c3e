/** Training errors with stable codes; messages name the bad value and what would be valid. */
export type TrainErrorCode =
  | 'TRAIN_BAD_OPTION'
  | 'TRAIN_OUT_EXISTS'
  | 'TRAIN_NOTHING_TO_RESUME'
  | 'TRAIN_RESUME_MISMATCH'
  | 'TRAIN_TEACHER_MISMATCH'
  | 'TRAIN_INIT_MISMATCH'
  | 'TRAIN_DIVERGED';

export class TrainError extends Error {
  readonly code: TrainErrorCode;

  constructor(code: TrainErrorCode, message: string) {
    super(message);
    this.name = 'TrainError';
    this.code = code;
  }
}
