import type { DrillInputs } from './inputs.js';
import { clientBugScenario, driftScenario, squareScenario, uploadScenario, type Scenario } from './scenarios.js';

export interface SquareSettings {
  /** Queries per image. */
  readonly queries: number;
  /** λ of the router-evading variant. */
  readonly lambda: number;
}

const ATTACKER = 'attacker-1';

/** The drill's scenarios in the order they run. */
export function drillScenarios(inputs: DrillInputs, square: SquareSettings): Scenario[] {
  const t = inputs.targets;
  // Spread: a new API key for every query, so that no key ever sends two images of one search.
  const spread = Array.from({ length: square.queries }, (_, i) => `attacker-key-${i}`);
  return [
    uploadScenario('pgd-white-box', 'white-box PGD campaign', inputs.crafted.pgd, t, ATTACKER),
    uploadScenario('pgd-transfer', 'transfer campaign (PGD on the static baseline)', inputs.crafted.transfer, t, ATTACKER),
    uploadScenario('adaptive-l1', 'router-aware adaptive campaign, λ 1', inputs.crafted['adaptive-l1'], t, ATTACKER),
    uploadScenario('adaptive-l10', 'router-aware adaptive campaign, λ 10', inputs.crafted['adaptive-l10'], t, ATTACKER),
    squareScenario('square-plain', 'Square Attack over HTTP, one client', inputs.squareTargets, { queries: square.queries, clients: [ATTACKER] }),
    squareScenario('square-evading', `router-evading Square Attack (λ ${square.lambda}), one client`, inputs.squareTargets, { queries: square.queries, lambda: square.lambda, clients: [ATTACKER] }),
    squareScenario('square-plain-spread', 'Square Attack over HTTP, a new API key per query', inputs.squareTargets, { queries: square.queries, clients: spread }),
    squareScenario('square-evading-spread', `router-evading Square Attack (λ ${square.lambda}), a new API key per query`, inputs.squareTargets, { queries: square.queries, lambda: square.lambda, clients: spread }),
    ...Object.entries(inputs.drifted).map(([id, d]) => driftScenario(`drift-${id}`, `benign drift: ${d.label}`, d.pixels)),
    clientBugScenario(t, 'buggy-client'),
  ];
}
