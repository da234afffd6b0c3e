/**
 * MTARD's adaptive weighting of the two distillation losses (Zhao et al., "Enhanced
 * Accuracy and Robustness via Multi-Teacher Adversarial Distillation", ECCV 2022), as
 * docs/design.md states it: α_nat + α_adv = 1, starting at 0.5 each; after every step, with
 * r = L / L_initial for each loss (L_initial = its value at the first step),
 *   α_nat ← α_nat − rate · (α_nat − r_nat / (r_nat + r_adv)),   α_adv = 1 − α_nat.
 * The loss that has fallen less relative to its start gains weight.
 */
export interface AdaptiveAlphaState {
  readonly alphaNat: number;
  readonly alphaAdv: number;
  /** The losses at the first step, or null before it. */
  readonly initialNat: number | null;
  readonly initialAdv: number | null;
  readonly rate: number;
}

export const MTARD_ALPHA_RATE = 0.025;

export class AdaptiveAlpha {
  private state: AdaptiveAlphaState;

  constructor(state: Partial<AdaptiveAlphaState> = {}) {
    this.state = {
      alphaNat: state.alphaNat ?? 0.5,
      alphaAdv: state.alphaAdv ?? 1 - (state.alphaNat ?? 0.5),
      initialNat: state.initialNat ?? null,
      initialAdv: state.initialAdv ?? null,
      rate: state.rate ?? MTARD_ALPHA_RATE,
    };
  }

  get alphaNat(): number {
    return this.state.alphaNat;
  }

  get alphaAdv(): number {
    return this.state.alphaAdv;
  }

  snapshot(): AdaptiveAlphaState {
    return { ...this.state };
  }

  /** Moves α after a step whose natural and adversarial losses were `lossNat`, `lossAdv`. */
  update(lossNat: number, lossAdv: number): void {
    if (!Number.isFinite(lossNat) || !Number.isFinite(lossAdv)) {
      throw new RangeError(`adaptive α needs finite losses, got natural ${lossNat} and adversarial ${lossAdv}`);
    }
    const initialNat = this.state.initialNat ?? lossNat;
    const initialAdv = this.state.initialAdv ?? lossAdv;
    // A zero initial loss (perfect teacher agreement) makes its ratio meaningless; hold α.
    if (initialNat <= 0 || initialAdv <= 0) {
      this.state = { ...this.state, initialNat, initialAdv };
      return;
    }
    const rNat = lossNat / initialNat;
    const rAdv = lossAdv / initialAdv;
    const target = rNat + rAdv > 0 ? rNat / (rNat + rAdv) : 0.5;
    const alphaNat = this.state.alphaNat - this.state.rate * (this.state.alphaNat - target);
    this.state = { ...this.state, alphaNat, alphaAdv: 1 - alphaNat, initialNat, initialAdv };
  }
}
