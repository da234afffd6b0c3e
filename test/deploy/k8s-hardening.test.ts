import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { loadConfig, type Config } from '../../src/server/config.js';
import { onCore } from '../core-pool.js';
import { KSERVE_OVERLAY, OVERLAYS, only, renderKustomization, type Manifest, type Overlay } from '../../bench/drill/k8s-render.js';
import type { IInferenceService, IServingRuntime } from './kserve-types.js';
import { repoPath, run } from '../../bench/drill/repo.js';

interface Container {
  name: string;
  ports: { name: string; containerPort: number }[];
  resources: { requests: Record<string, string> };
}
interface Deployment {
  spec: {
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        containers: Container[];
        topologySpreadConstraints?: { topologyKey: string; whenUnsatisfiable: string; maxSkew: number; nodeTaintsPolicy?: string; matchLabelKeys?: string[]; labelSelector: { matchLabels: Record<string, string> } }[];
      };
    };
  };
}
interface ConfigMap {
  data: Record<string, string>;
}
interface NetworkPolicy {
  spec: {
    podSelector: { matchLabels: Record<string, string> };
    policyTypes: string[];
    ingress: { from?: unknown[]; ports: { port: string | number }[] }[];
    egress?: unknown[];
  };
}
interface ScaledObject {
  spec: {
    minReplicaCount: number;
    maxReplicaCount: number;
    cooldownPeriod?: number;
    fallback?: { failureThreshold: number; replicas: number; behavior?: string };
    triggers: { metadata: Record<string, string> }[];
  };
}

const endpointPort = (m: { spec: { podMetricsEndpoints: { portNumber?: number }[] } }): number | undefined => m.spec.podMetricsEndpoints[0]?.portNumber;

const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('Kubernetes manifests: failure modes', () => {
  const rendered = new Map<Overlay, Manifest[]>();
  let kserve: Manifest[] = [];
  before(async () => {
    // Each render is its own kubectl process: all at once, a process per core.
    const [k, ...overlays] = await Promise.all([KSERVE_OVERLAY, ...OVERLAYS].map((o) => onCore(() => renderKustomization(repoPath('k8s', 'overlays', o)))));
    for (const [i, overlay] of OVERLAYS.entries()) rendered.set(overlay, overlays[i]!);
    kserve = k!;
  });
  const manifests = (overlay: Overlay): Manifest[] => rendered.get(overlay) ?? assert.fail(`${overlay} not rendered`);
  const configOf = (overlay: Overlay): Config => {
    const { data } = only<ConfigMap>(manifests(overlay), 'ConfigMap');
    const models = (data.AWNET_MODELS ?? '').split(',').map((f) => repoPath(f.replace(/^\/app\//, '')));
    return loadConfig({ ...data, AWNET_MODELS: models.join(',') }, repoPath());
  };

  it('every overlay serves routed models only: no model the detector cannot screen', async () => {
    for (const overlay of OVERLAYS) {
      for (const file of configOf(overlay).models) {
        const card = JSON.parse(await readFile(file.replace(/\.onnx$/, '.json'), 'utf8')) as { name: string; router: boolean };
        assert.equal(card.router, true, `${overlay}: ${card.name} has no router, so attacks sent to it are never flagged`);
      }
    }
  });

  it('the Namespace enforces the restricted Pod Security Standard', () => {
    for (const overlay of OVERLAYS) {
      const labels = only(manifests(overlay), 'Namespace').metadata.labels ?? {};
      assert.equal(labels['pod-security.kubernetes.io/enforce'], 'restricted', overlay);
    }
  });

  it('a NetworkPolicy admits inference from the cluster, the admin port from Prometheus only, and no egress', () => {
    for (const overlay of OVERLAYS) {
      const list = manifests(overlay);
      const policy = only<NetworkPolicy>(list, 'NetworkPolicy');
      const deployment = only<Deployment>(list, 'Deployment');
      assert.ok(matches(policy.spec.podSelector.matchLabels, deployment.spec.template.metadata.labels), `${overlay}: the policy selects the pods`);
      assert.deepEqual([...policy.spec.policyTypes].sort(), ['Egress', 'Ingress']);
      assert.deepEqual(policy.spec.egress ?? [], []);
      const ports = deployment.spec.template.spec.containers[0]?.ports.map((p) => p.name) ?? [];
      assert.deepEqual(ports, ['http', 'admin'], `${overlay}: container ports`);
      const open = policy.spec.ingress.filter((r) => r.from === undefined).flatMap((r) => r.ports.map((p) => p.port));
      assert.deepEqual(open, ['http'], `${overlay}: only inference is open to every peer`);
      const admin = policy.spec.ingress.filter((r) => r.ports.some((p) => p.port === 'admin'));
      assert.ok(admin.length === 1 && (admin[0]?.from ?? []).length > 0, `${overlay}: the admin port has a from: restriction`);
      // The service really serves /metrics there, and no OpenAPI UI in production.
      const config = configOf(overlay);
      const adminPort = deployment.spec.template.spec.containers[0]?.ports.find((p) => p.name === 'admin')?.containerPort;
      assert.equal(config.adminPort, adminPort, `${overlay}: AWNET_ADMIN_PORT is the container's admin port`);
      assert.equal(config.docs, false, `${overlay}: /docs is off`);
    }
  });

  it('a drain or an unhealthy fleet never takes more than one pod at a time, and pods spread over zones and hosts', () => {
    for (const overlay of OVERLAYS) {
      const list = manifests(overlay);
      const pdb = only<{ spec: Record<string, unknown> }>(list, 'PodDisruptionBudget');
      assert.equal(pdb.spec.minAvailable, undefined, `${overlay}: minAvailable 1 lets a drain evict all pods but one`);
      assert.equal(pdb.spec.maxUnavailable, 1);
      assert.equal(pdb.spec.unhealthyPodEvictionPolicy, 'AlwaysAllow');
      const pod = only<Deployment>(list, 'Deployment').spec.template;
      const spread = pod.spec.topologySpreadConstraints ?? [];
      assert.deepEqual(spread.map((c) => c.topologyKey).sort(), ['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
      for (const c of spread) {
        assert.equal(c.whenUnsatisfiable, 'DoNotSchedule', `${overlay}: ${c.topologyKey}`);
        assert.equal(c.maxSkew, 1);
        // Without it, a GPU pool's taint-excluded CPU nodes count as empty domains and block scheduling.
        assert.equal(c.nodeTaintsPolicy, 'Honor');
        assert.deepEqual(c.matchLabelKeys, ['pod-template-hash']);
        assert.ok(matches(c.labelSelector.matchLabels, pod.metadata.labels));
      }
    }
  });

  it('KEDA fails safe: an empty query or an unreachable Prometheus never scales the fleet down', () => {
    for (const overlay of ['gpu', 'cpu'] as const) {
      const scaled = only<ScaledObject>(manifests(overlay), 'ScaledObject').spec;
      assert.equal(scaled.triggers[0]?.metadata.ignoreNullValues, 'false', `${overlay}: an empty result must be an error (fallback), not a load of 0`);
      assert.equal(scaled.fallback?.behavior, 'currentReplicasIfHigher', `${overlay}: the default fallback replaces the current count, scaling down in an outage`);
      // cooldownPeriod applies only to scaling to zero.
      assert.ok(scaled.minReplicaCount > 0 && scaled.cooldownPeriod === undefined, `${overlay}: cooldownPeriod set though minReplicaCount is ${scaled.minReplicaCount}`);
    }
  });

  it("the CPU HPA's target is a utilisation the pod can reach", () => {
    const config = configOf('cpu-hpa');
    const list = manifests('cpu-hpa');
    const hpa = only<{ spec: { metrics: { resource?: { target: { averageUtilization: number } } }[] } }>(list, 'HorizontalPodAutoscaler');
    const request = Number(only<Deployment>(list, 'Deployment').spec.template.spec.containers[0]?.resources.requests.cpu);
    const usable = config.models.length * config.workers * config.intraOpThreads + 1;
    const target = (hpa.spec.metrics[0]?.resource?.target.averageUtilization ?? 0) / 100;
    // A loaded pod uses about its inference threads plus the event loop; the target must sit below that.
    assert.ok(target * request < usable * 0.9, `target ${target * request} CPUs of ${usable} usable`);
  });


  it('KServe: its pods are scraped and alerted on, and clients are not keyed by queue-proxy\'s loopback address', () => {
    const isvc = only<IInferenceService>(kserve, 'InferenceService');
    const monitor = only<{ spec: { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: { path: string; portNumber?: number; relabelings?: { targetLabel: string; replacement: string }[] }[] } }>(kserve, 'PodMonitor');
    // KServe labels every predictor pod with its InferenceService's name.
    assert.deepEqual(monitor.spec.selector.matchLabels, { 'serving.kserve.io/inferenceservice': isvc.metadata.name });
    const [endpoint] = monitor.spec.podMetricsEndpoints;
    assert.equal(endpoint?.path, '/metrics');
    assert.ok(endpoint?.relabelings?.some((r) => r.targetLabel === 'job' && r.replacement === 'awnet-serve'), 'job="awnet-serve", as the rules select');
    for (const kind of ['PodMonitor', 'PrometheusRule']) assert.equal(only(kserve, kind).metadata.labels?.release, 'kube-prometheus-stack', kind);
    const namespace = only(kserve, 'Namespace');
    assert.equal(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
    const env = Object.fromEntries((only<IServingRuntime>(kserve, 'ServingRuntime').spec.containers[0]?.env ?? []).map((e) => [e.name, e.value ?? '']));
    assert.ok(env.AWNET_CLIENT_KEY_HEADER !== undefined || env.AWNET_TRUSTED_PROXIES?.includes('127.0.0.1'), 'queue-proxy connects from 127.0.0.1: the peer address is every client\'s');
    assert.equal(env.AWNET_DOCS, 'false');
    assert.equal(endpointPort(monitor), Number(env.AWNET_ADMIN_PORT), 'the PodMonitor scrapes the admin port');
  });

  it('an overlay renders for applying only once its image is pinned by digest and no placeholder is left, unless it says it is a template', async () => {
    const scratch = await mkdtemp(path.join(tmpdir(), 'awnet-render-'));
    try {
      await cp(repoPath('k8s'), path.join(scratch, 'k8s'), { recursive: true });
      const mine = path.join(scratch, 'k8s', 'overlays', 'production');
      await cp(path.join(scratch, 'k8s', 'overlays', 'cpu'), mine, { recursive: true });
      const kustomization = path.join(mine, 'kustomization.yaml');
      await writeFile(kustomization, (await readFile(kustomization, 'utf8')).replace(/^ {4}awnet-serve\/template: "true"\n/m, ''));
      const render = (dir: string) => run('bash', [repoPath('scripts', 'render-manifests.sh'), dir]);
      // The shipped overlay is a template: it renders, with a warning.
      const template = await render(repoPath('k8s', 'overlays', 'cpu'));
      assert.equal(template.code, 0, template.stderr);
      assert.match(template.stderr, /is a template/);
      const refused = await render(mine);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /placeholder: image: registry\.example\.com/);
      assert.match(refused.stderr, /placeholder: runbook_url: https:\/\/git\.example\.com/);
      assert.match(refused.stderr, /image not pinned by digest/);
      assert.equal(refused.stdout, '', 'nothing to pipe into kubectl apply');

      const digest = `sha256:${'ab'.repeat(32)}`;
      const set = await run('bash', [repoPath('scripts', 'set-image-digest.sh'), mine, `registry.internal:5000/ml/awnet-serve@${digest}`]);
      assert.equal(set.code, 0, set.stderr);
      const runbooks = path.join(scratch, 'k8s', 'components', 'alerting', 'runbooks.yaml');
      await writeFile(runbooks, (await readFile(runbooks, 'utf8')).replace('https://git.example.com/awnet-serve/blob/main/docs/alerts.md', 'https://git.internal/ml/awnet-serve/-/blob/v1/docs/alerts.md'));
      const accepted = await render(mine);
      assert.equal(accepted.code, 0, accepted.stderr);
      assert.match(accepted.stdout, new RegExp(`image: registry\\.internal:5000/ml/awnet-serve@${digest}`));
      assert.doesNotMatch(accepted.stdout, /example\.com/);
      // A malformed reference is refused before anything is written.
      assert.notEqual((await run('bash', [repoPath('scripts', 'set-image-digest.sh'), mine, 'awnet-serve:latest'])).code, 0);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
