/** The three training objectives (docs/design.md, Eq. 22 with different L_adv, L_nat and α). */
export type TrainMode = 'pgd-at' | 'trades' | 'mtard';

export const TRAIN_MODES: readonly TrainMode[] = ['pgd-at', 'trades', 'mtard'];
