import { setTimeout as sleep } from 'node:timers/promises';
import type { TestImages } from './adversary.js';
import type { Background } from './background.js';
import { squareOverHttp, type SquareCampaignOptions } from './square-campaign.js';
import { Traffic, type Answer, type Stream } from './traffic.js';

export type ScenarioKind = 'attack' | 'benign' | 'client bug';

/** What a scenario's campaign may use while it runs. */
export interface CampaignContext {
  readonly base: string;
  readonly model: string;
  readonly height: number;
  readonly width: number;
  readonly background: Background;
  /** How long a campaign of streamed images lasts, in wall seconds. */
  readonly seconds: number;
  /** Requests per second of a streaming attacker. */
  readonly perSecond: number;
  /** Every answer the campaign's own images got. */
  readonly record: (answer: Answer) => void;
}

export interface CampaignResult {
  /** Images the campaign sent (searching queries included). */
  readonly sent: number;
  readonly detail: string;
}

export interface Scenario {
  readonly id: string;
  readonly title: string;
  readonly kind: ScenarioKind;
  run(context: CampaignContext): Promise<CampaignResult>;
}

/** Streams for `seconds`: at `perSecond`, a stream of (n − 0.5) / perSecond seconds sends n requests. */
async function streamFor(context: CampaignContext, stream: Omit<Stream, 'perSecond' | 'onAnswer'>, seconds: number): Promise<number> {
  const traffic = new Traffic(context.base, context.model, context.height, context.width);
  traffic.start({ ...stream, perSecond: context.perSecond, onAnswer: context.record });
  await sleep(seconds * 1000);
  await traffic.stop();
  return traffic.stats.requests * (stream.route === 'classify' ? 1 : (stream.batch ?? 8));
}

/** Crafted images sent as PNG uploads by one client, cycling through them, for the campaign's length. */
export function uploadScenario(id: string, title: string, images: Float32Array, targets: TestImages, client: string): Scenario {
  return {
    id,
    title,
    kind: 'attack',
    async run(context) {
      const sent = await streamFor(context, { images, labels: targets.labels, route: 'classify', clients: [client] }, context.seconds);
      return { sent, detail: `${targets.n} distinct images as PNG uploads under one API key, cycled, ${context.perSecond} a second` };
    },
  };
}

/** A client that sends 0–255 pixel values as FP32 tensors to the Open Inference Protocol route. */
export function clientBugScenario(targets: TestImages, client: string): Scenario {
  return {
    id: 'client-bug-0-255',
    title: 'client bug: 0–255 pixels to /v2 infer',
    kind: 'client bug',
    async run(context) {
      const sent = await streamFor(context, { images: targets.clean, labels: targets.labels, route: 'infer', batch: 1, scale: 255, clients: [client] }, context.seconds);
      return { sent, detail: `one image per request, pixel values × 255, ${context.perSecond} requests a second` };
    },
  };
}

/** The background traffic itself changes (noise, JPEG, contrast, lighting) for the campaign's length. */
export function driftScenario(id: string, title: string, drifted: Float32Array): Scenario {
  return {
    id,
    title,
    kind: 'benign',
    async run(context) {
      context.background.listen(context.record);
      await context.background.swap(drifted);
      await sleep(context.seconds * 1000);
      context.background.listen(undefined);
      await context.background.swap(context.background.cleanImages);
      return { sent: 0, detail: 'all background traffic changed, same clients and rate' };
    },
  };
}

/**
 * The Square Attack over HTTP: the search (its queries are the campaign's traffic), then
 * each found image sent once more, as the attacker would use it.
 */
export function squareScenario(id: string, title: string, targets: TestImages, options: SquareCampaignOptions): Scenario {
  return {
    id,
    title,
    kind: 'attack',
    async run(context) {
      const started = Date.now();
      const { result, queries } = await squareOverHttp(context.base, context.model, targets, options);
      const final = await streamFor(context, { images: result.adversarial, labels: targets.labels, route: 'classify', clients: [options.clients[0] as string] }, (targets.n - 0.5) / context.perSecond);
      const rest = context.seconds * 1000 - (Date.now() - started);
      if (rest > 0) await sleep(rest);
      const fooled = result.fooled.reduce((s, v) => s + v, 0);
      return {
        sent: queries + final,
        detail: `${targets.n} images, ${options.queries} queries each at most (${queries} sent, under ${options.clients.length} API key${options.clients.length === 1 ? '' : 's'}); ${fooled} of ${targets.n} misclassified by the search`,
      };
    },
  };
}
