/** The training objectives (docs/design.md, Eq. 22 with different L_adv, L_nat and α; docs/training.md). */
export type TrainMode = 'pgd-at' | 'trades' | 'mtard' | 'gairat' | 'margin' | 'ar-at';

export const TRAIN_MODES: readonly TrainMode[] = ['pgd-at', 'trades', 'mtard', 'gairat', 'margin', 'ar-at'];

/** The objectives' settings when a caller names none (the command line's defaults; docs/training.md says why). */
export const OBJECTIVE_DEFAULTS = {
  gairatLambda: -1,
  gairatBurnIn: 0.5,
  marginWeight: 0.5,
  marginCap: 2,
  arAtWeight: 1,
} as const;
