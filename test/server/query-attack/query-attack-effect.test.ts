import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { ATTACKER, CLEAN, KEY_HEADER, pickTargets, runClean, runSquare, testImages, type AttackRun, type CleanRun } from '../../../bench/query-attack-traffic.js';
import { ClientKeys } from '../../../src/server/query-attack/client-key.js';
import { DEFAULT_MODEL_FILES } from '../../../src/server/config.js';
import { repoRoot } from '../../../src/server/repo-root.js';
import { metricValue, startServer } from '../helpers.js';

const MODEL = path.join(repoRoot(), DEFAULT_MODEL_FILES[0]!);
const NAME = path.basename(MODEL, '.onnx');
/** Targets attacked together (16 images per request, as HttpOracle sends them). */
const TARGETS = 16;
/** Queries the attacker may attempt per target, answered or refused. */
const QUERIES = 150;
const CLEAN_IMAGES = 200;
/** Images the attacker may send before it is suspected (docs/query-attacks.md states it). */
const DETECTED_WITHIN = 120;

// The server's key salt too, so that the keys computed here are the server's.
const KEY_SALT = 'query-attack-effect';
const keys = new ClientKeys(KEY_HEADER, [], KEY_SALT);
const hashOf = (key: string): string => keys.of({ [KEY_HEADER]: key }, '127.0.0.1').hash;

interface Outcome {
  readonly attack: AttackRun;
  readonly clean: CleanRun;
  readonly attackerSuspectedAfter: number;
  readonly cleanSuspectedAfter: number;
  readonly suspectedClients: number;
  readonly suspectedRequests: number;
}

/** The shipped model on a real port; the attack and the clean client at the same time. */
async function scenario(action: 'header' | 'throttle', x: Float32Array, labels: Int32Array, clean: readonly Buffer[]): Promise<Outcome> {
  const server = await startServer([MODEL], { AWNET_QUERY_ATTACK_ACTION: action, AWNET_CLIENT_KEY_HEADER: KEY_HEADER, AWNET_CLIENT_KEY_SALT: KEY_SALT }, { listen: true });
  try {
    const [attack, cleanRun] = await Promise.all([runSquare(server.url, NAME, x, labels, QUERIES), runClean(server.url, NAME, clean)]);
    const memory = server.app.queryGuard.memory;
    assert.ok(memory);
    const metrics = await server.registry.metrics();
    return {
      attack,
      clean: cleanRun,
      attackerSuspectedAfter: memory.peek(hashOf(ATTACKER))?.suspectedAfter ?? 0,
      cleanSuspectedAfter: memory.peek(hashOf(CLEAN))?.suspectedAfter ?? -1,
      suspectedClients: metricValue(metrics, 'awnet_query_attack_suspected_clients'),
      suspectedRequests: metricValue(metrics, 'awnet_query_attack_requests_total', { action }),
    };
  } finally {
    await server.close();
  }
}

describe('the Square Attack over HTTP next to a clean client (shipped model, real port)', () => {
  let open: Outcome;
  let throttled: Outcome;

  before(async () => {
    const picker = await startServer([MODEL], { AWNET_QUERY_ATTACK_ACTION: 'off' }, { listen: true });
    let targets: { x: Float32Array; labels: Int32Array };
    try {
      targets = await pickTargets(picker.url, NAME, TARGETS, 96);
    } finally {
      await picker.close();
    }
    // Distinct test images far from the attacker's pool.
    const { pngs } = await testImages(5000, CLEAN_IMAGES);
    open = await scenario('header', targets.x, targets.labels, pngs);
    throttled = await scenario('throttle', targets.x, targets.labels, pngs);
  });

  it(`detects the attack within ${DETECTED_WITHIN} images and marks its answers`, (t) => {
    const figures = (o: Outcome) => ({ ...o.attack, suspectedAfter: o.attackerSuspectedAfter, clean: o.clean });
    t.diagnostic(`open: ${JSON.stringify(figures(open))}; throttled: ${JSON.stringify(figures(throttled))}`);
    assert.ok(open.attack.fooled >= 1, `unhindered, the attack fools ${open.attack.fooled} of ${TARGETS}: it must work for the comparison to mean anything`);
    assert.ok(open.attackerSuspectedAfter > 0 && open.attackerSuspectedAfter <= DETECTED_WITHIN, `suspected after ${open.attackerSuspectedAfter} images`);
    assert.ok(throttled.attackerSuspectedAfter > 0 && throttled.attackerSuspectedAfter <= DETECTED_WITHIN, `suspected after ${throttled.attackerSuspectedAfter} images`);
    assert.equal(open.suspectedClients, 1);
    assert.ok(open.suspectedRequests > 0);
  });

  it('never flags, marks or refuses the clean client', () => {
    for (const run of [open, throttled]) {
      assert.equal(run.clean.ok, CLEAN_IMAGES);
      assert.equal(run.clean.refused, 0);
      assert.equal(run.clean.marked, 0);
      assert.equal(run.cleanSuspectedAfter, 0, 'the clean client was seen and never suspected');
    }
  });

  it('throttling lowers what the attack achieves within the same attempted queries', () => {
    assert.ok(throttled.attack.refused > 0, 'the attacker was refused');
    assert.ok(throttled.suspectedRequests > 0);
    assert.ok(
      throttled.attack.fooled < open.attack.fooled,
      `fooled ${throttled.attack.fooled} of ${TARGETS} throttled vs ${open.attack.fooled} unhindered, ${QUERIES} attempted queries per target`,
    );
  });
});
