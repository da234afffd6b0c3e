export { adaptiveAttack, ADAPTIVE_DEFAULT_STEPS, type AdaptiveOptions } from './adaptive.js';
export { cwInf, CW_DEFAULT_STEPS, type CwInfOptions } from './cw.js';
export { AttackInputError, AttackOptionsError } from './errors.js';
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
