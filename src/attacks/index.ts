export { adaptiveAttack, ADAPTIVE_DEFAULT_STEPS, type AdaptiveOptions } from './adaptive.js';
export { cwInf, CW_DEFAULT_STEPS, type CwInfOptions } from './cw.js';
export { AttackInputError, AttackOptionsError, AttackOracleError } from './errors.js';
export { fgsm, type FgsmOptions } from './fgsm.js';
export { projectLinf, randomStart } from './linf.js';
export {
  crossEntropyLoss,
  cwMarginLoss,
  perSampleCrossEntropy,
  perSampleLogPClean,
  perSampleMargin,
  type AttackLoss,
  type AttackLossName,
} from './losses.js';
export { pgd, type PgdOptions } from './pgd.js';
export { apgdRun, type ApgdObjective, type ApgdResult } from './apgd.js';
export { apgdAdaptive, apgdCe, apgdTargeted, type ApgdAdaptiveOptions, type ApgdOptions, type ApgdTargetedOptions } from './apgd-variants.js';
export { AUTOATTACK_FAST, AUTOATTACK_STANDARD, autoAttackParts, runCascade, type AutoAttackConfig, type CascadePart, type PartStats } from './autoattack.js';
export { fabTargeted, type FabOptions } from './fab.js';
export { modelOracle, type OracleAnswer, type ScoreOracle } from './score-oracle.js';
export { squareAttack, type SquareOptions, type SquareResult } from './square.js';
// The HTTP oracle (src/attacks/http-oracle.ts) is imported directly: it loads the image codec.
