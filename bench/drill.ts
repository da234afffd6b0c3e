import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { positiveNumber } from '../src/cli/options.js';
import { svgToPng } from '../src/eval/render-png.js';
import { initBackend } from '../src/tf/backend.js';
import { Background } from './drill/background.js';
import { compressionTable, compressRules, compressServiceEnv } from './drill/compression.js';
import { prepareInputs } from './drill/inputs.js';
import { overlayEnvironment } from './drill/overlay-env.js';
import { reportMarkdown, type DrillReport } from './drill/report.js';
import { readRules } from './drill/rules.js';
import { runScenario, type DrillSettings, type ScenarioResult } from './drill/runner.js';
import { drillScenarios } from './drill/scenario-list.js';
import { MODEL_FILE, MODEL_NAME, servedCheckpoint } from './drill/served-model.js';
import { ServiceProcess } from './drill/service-process.js';
import { renderTimelineSvg } from './drill/timeline-svg.js';
import { CLIENT_KEY_HEADER } from './drill/traffic.js';

/**
 * The alerting drill: the built service on the shipped model with a Kubernetes overlay's
 * settings, a real Prometheus with the real rules (time compressed), clean background
 * traffic from many clients, and one adversarial or benign scenario after another; writes
 * a JSON report, a Markdown table and a picture per scenario.
 */

const program = new Command()
  .description('Adversarial-traffic drill against the real service and a real Prometheus: time to alert, missed campaigns and false pages, per scenario.')
  .option('--factor <n>', 'time compression: rule windows, for: and the service windows divided by it', positiveNumber, 60)
  .option('--interval <seconds>', "Prometheus' scrape and evaluation interval", positiveNumber, 0.5)
  .option('--warmup <minutes>', 'clean traffic before each campaign, in real minutes (compressed)', positiveNumber, 10)
  .option('--campaign <minutes>', 'length of each campaign, in real minutes (compressed): the above-baseline alert needs 5 + 15', positiveNumber, 20)
  .option('--cooldown <minutes>', 'longest wait for the alerts to resolve after a campaign, in real minutes (compressed)', positiveNumber, 15)
  .option('--background-rate <n>', 'clean images per second', positiveNumber, 40)
  .option('--clients <n>', 'clean clients (API keys)', positiveNumber, 50)
  .option('--attack-rate <n>', "the streaming attacker's images per second", positiveNumber, 10)
  .option('--attacked <n>', 'test images crafted per attack', positiveNumber, 64)
  .option('--square-images <n>', 'images the Square Attack searches', positiveNumber, 8)
  .option('--square-queries <n>', 'Square Attack queries per image', positiveNumber, 500)
  .option('--square-lambda <n>', 'λ of the router-evading Square Attack', positiveNumber, 1)
  .option('--only <ids>', 'comma-separated scenario ids to run (default all)')
  .option('--overlay <name>', 'the k8s/overlays/<name> whose environment the service runs with', 'cpu')
  .option('--out <base>', 'path base of the report (.json, .md) and of the pictures (<base>-<scenario>.svg/.png)', 'bench/reports/drill')
  .parse();

const opts = program.opts<{
  factor: number; interval: number; warmup: number; campaign: number; cooldown: number; backgroundRate: number; clients: number;
  attackRate: number; attacked: number; squareImages: number; squareQueries: number; squareLambda: number; only?: string; overlay: string; out: string;
}>();

/** The served model's flag rate on clean test images, from its model card (the sidecar JSON). */
function cleanFlagRate(modelFile: string): number {
  const card = JSON.parse(readFileSync(modelFile.replace(/\.onnx$/, '.json'), 'utf8')) as { evaluation?: { model?: { cleanFlagRate?: number } }; threshold?: { targetFpr?: number } };
  const rate = card.evaluation?.model?.cleanFlagRate ?? card.threshold?.targetFpr;
  if (rate === undefined) throw new Error(`${modelFile}: its sidecar JSON has no clean flag rate or target FPR`);
  return rate;
}

const started = Date.now();
const checkpoint = servedCheckpoint();
if (checkpoint === undefined) {
  process.stderr.write(`drill: no checkpoint beside ${MODEL_FILE}: the white-box and adaptive campaigns need the served model's weights\n`);
  process.exit(1);
}
await initBackend();
const inputs = await prepareInputs({ background: 400, attacked: Math.round(opts.attacked), square: Math.round(opts.squareImages) }, checkpoint);
process.stdout.write(`drill: inputs crafted in ${inputs.seconds.toFixed(0)} s\n`);

const settings: DrillSettings = {
  factor: opts.factor,
  interval: opts.interval,
  warmupSeconds: (opts.warmup * 60) / opts.factor,
  campaignSeconds: (opts.campaign * 60) / opts.factor,
  cooldownSeconds: (opts.cooldown * 60) / opts.factor,
  attackPerSecond: opts.attackRate,
  quietFlaggedFraction: cleanFlagRate(MODEL_FILE),
};
// Clients are told apart by an API key, as behind a gateway that authenticates them
// (the overlay's alternative to keying by address; on loopback every address is the same).
const environment = { ...compressServiceEnv(await overlayEnvironment(opts.overlay), opts.factor), AWNET_CLIENT_KEY_HEADER: CLIENT_KEY_HEADER };
const rules = await readRules();
const service = await ServiceProcess.start(environment);
const results: ScenarioResult[] = [];
const failed: DrillReport['failed'] = [];
try {
  const background = new Background(service.base, MODEL_NAME, inputs.background, opts.backgroundRate, Math.round(opts.clients));
  const stack = { service, model: MODEL_NAME, height: inputs.background.height, width: inputs.background.width, rules: compressRules(rules, opts.factor), background };
  const wanted = opts.only?.split(',').map((s) => s.trim());
  const scenarios = drillScenarios(inputs, { queries: Math.round(opts.squareQueries), lambda: opts.squareLambda }).filter((s) => wanted === undefined || wanted.includes(s.id));
  await mkdir(path.dirname(opts.out), { recursive: true });
  for (const scenario of scenarios) {
    const t0 = Date.now();
    let result: ScenarioResult;
    try {
      result = await runScenario(scenario, stack, settings);
    } catch (err) {
      // One scenario's failure is reported, and the others still run.
      failed.push({ id: scenario.id, error: String(err) });
      process.stderr.write(`drill: ${scenario.id} failed: ${String(err)}\n`);
      continue;
    }
    results.push(result);
    const svg = renderTimelineSvg(result, opts.factor);
    await writeFile(`${opts.out}-${result.id}.svg`, svg);
    await writeFile(`${opts.out}-${result.id}.png`, svgToPng(svg, { scale: 1 }));
    const fired = result.alerts.filter((a) => a.fired).map((a) => a.alert);
    process.stdout.write(`drill: ${result.id}: ${fired.length > 0 ? `fired ${fired.join(', ')}` : 'no alert'}; peak flagged ${(100 * result.peakFlaggedFraction).toFixed(1)} % (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
} finally {
  await service.stop();
}
const report: DrillReport = {
  createdAt: new Date().toISOString(),
  command: `npm run drill${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  wallSeconds: (Date.now() - started) / 1000,
  settings: { ...settings, backgroundPerSecond: opts.backgroundRate, backgroundClients: Math.round(opts.clients), overlay: opts.overlay },
  // The service listens on loopback ports of its own (ServiceProcess), not the overlay's.
  environment: Object.fromEntries(Object.entries(environment).filter(([key]) => !['AWNET_HOST', 'AWNET_PORT', 'AWNET_ADMIN_PORT'].includes(key))),
  compression: compressionTable(rules, opts.factor),
  scenarios: results,
  failed,
};
await writeFile(`${opts.out}.json`, JSON.stringify(report, null, 2) + '\n');
await writeFile(`${opts.out}.md`, reportMarkdown(report));
process.exitCode = failed.length > 0 ? 1 : 0;
process.stdout.write(`drill: ${results.length} scenarios in ${report.wallSeconds.toFixed(0)} s; report ${opts.out}.json, ${opts.out}.md\n`);
