/**
 * Errors raised by the attacks on bad arguments. Each carries a stable `code` so
 * callers (the trainer, the evaluate command) can tell them apart from crashes.
 */
export class AttackOptionsError extends Error {
  readonly code = 'ATTACK_BAD_OPTION';

  constructor(message: string) {
    super(message);
    this.name = 'AttackOptionsError';
  }
}

export class AttackInputError extends Error {
  readonly code = 'ATTACK_BAD_INPUT';

  constructor(message: string) {
    super(message);
    this.name = 'AttackInputError';
  }
}

/** A score oracle (the service over HTTP) failed or answered something unusable. */
export class AttackOracleError extends Error {
  readonly code = 'ATTACK_ORACLE_FAILED';

  constructor(
    message: string,
    /** The HTTP status when the service answered with an error (429 when it throttles the client). */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'AttackOracleError';
  }
}
