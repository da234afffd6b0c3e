import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { CONFIG_KEYS, loadConfig, type Config } from '../../src/server/config.js';
import { onCore } from '../core-pool.js';
import { KSERVE_OVERLAY, OVERLAYS, only, renderKustomization, renderWithWarnings, type Manifest, type Overlay } from '../../bench/drill/k8s-render.js';
import { schemaErrors, unknownFieldErrors } from './k8s-schemas.js';
import type { IInferenceService, IServingRuntime } from './kserve-types.js';
import { repoPath, run } from '../../bench/drill/repo.js';
import { seriesNames, serviceMetricTypes } from './service-metrics.js';

interface Probe {
  httpGet?: { path: string; port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
}
interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  ports: { name: string; containerPort: number }[];
  envFrom: { configMapRef?: { name: string } }[];
  startupProbe: Probe;
  readinessProbe: Probe;
  livenessProbe: Probe;
  lifecycle: { preStop: { exec: { command: string[] } } };
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: Record<string, unknown> & { capabilities: { drop: string[] } };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface Deployment {
  metadata: { namespace?: string };
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    strategy: { type: string; rollingUpdate: { maxSurge: number | string; maxUnavailable: number | string } };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        terminationGracePeriodSeconds: number;
        securityContext: Record<string, unknown> & { seccompProfile: { type: string } };
        containers: Container[];
        volumes?: { name: string; emptyDir?: { sizeLimit?: string } }[];
      };
    };
  };
}
interface ConfigMap {
  metadata: { name: string };
  data: Record<string, string>;
}
interface ScaledObject {
  metadata: { namespace?: string };
  spec: {
    scaleTargetRef: { apiVersion?: string; kind?: string; name: string };
    minReplicaCount: number;
    maxReplicaCount: number;
    fallback?: { failureThreshold: number; replicas: number };
    triggers: { type: string; metricType?: string; metadata: Record<string, string> }[];
  };
}
interface Hpa {
  spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number; metrics: { type: string; resource?: { name: string } }[] };
}

/** Extra time after the drain deadline for the process to exit and the kubelet to notice. */
const EXIT_MARGIN_SECONDS = 5;
const SHARED = ['ConfigMap', 'Deployment', 'Namespace', 'NetworkPolicy', 'PodDisruptionBudget', 'PrometheusRule', 'Service', 'ServiceMonitor'];
const KINDS: Record<Overlay, string[]> = {
  gpu: [...SHARED, 'ScaledObject'].sort(),
  cpu: [...SHARED, 'ScaledObject'].sort(),
  'cpu-hpa': [...SHARED, 'HorizontalPodAutoscaler'].sort(),
};
/** kube-prometheus-stack's Prometheus selects ServiceMonitors and PrometheusRules by release=<Helm release>. */
const KUBE_PROMETHEUS_STACK_SELECTOR = { release: 'kube-prometheus-stack' };
const DEPRECATED_KUSTOMIZE_FIELDS = ['bases', 'patchesStrategicMerge', 'patchesJson6902', 'commonLabels', 'vars', 'imageTags'];

const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined): boolean =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** Why an image reference would fail or go stale on a cluster; empty when it names one build in a registry. */
export function imageProblems(ref: string, version: string): string[] {
  const problems: string[] = [];
  const [name = '', digest] = ref.split('@');
  const slash = name.indexOf('/');
  const host = slash > 0 ? name.slice(0, slash) : '';
  // Docker's rule: the first component is a registry host when it has a dot or a port, or is localhost.
  if (!(host.includes('.') || host.includes(':') || host === 'localhost')) problems.push(`${ref}: no registry host (the node would try Docker Hub)`);
  const tag = /:([\w][\w.-]*)$/.exec(name.slice(slash + 1))?.[1];
  if (digest !== undefined) {
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) problems.push(`${ref}: malformed digest`);
  } else if (tag === undefined) {
    problems.push(`${ref}: no tag (means latest)`);
  } else if (!tag.startsWith(`${version}-`)) {
    problems.push(`${ref}: tag ${tag} does not name a release (${version}-<variant>): a rebuilt image under the same tag never rolls out`);
  }
  return problems;
}

describe('Kubernetes manifests', () => {
  const rendered = new Map<Overlay, Manifest[]>();
  const warnings = new Map<string, string>();
  let base: Manifest[] = [];
  let kserve: Manifest[] = [];
  let version = '';
  let scratch = '';

  before(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'awnet-k8s-'));
    version = (JSON.parse(await readFile(repoPath('package.json'), 'utf8')) as { version: string }).version;
    // Each render is its own kubectl process: all at once, a process per core.
    const [b, k, ...overlays] = await Promise.all(
      [repoPath('k8s', 'base'), repoPath('k8s', 'overlays', KSERVE_OVERLAY), ...OVERLAYS.map((o) => repoPath('k8s', 'overlays', o))].map((dir) => onCore(() => renderWithWarnings(dir))),
    );
    base = b!.manifests;
    warnings.set('base', b!.warnings);
    for (const [i, overlay] of OVERLAYS.entries()) {
      rendered.set(overlay, overlays[i]!.manifests);
      warnings.set(overlay, overlays[i]!.warnings);
    }
    kserve = k!.manifests;
    warnings.set(KSERVE_OVERLAY, k!.warnings);
  });
  after(() => rm(scratch, { recursive: true, force: true }));
  const manifests = (overlay: Overlay): Manifest[] => rendered.get(overlay) ?? assert.fail(`${overlay} not rendered`);
  const configOf = (overlay: Overlay): Config => {
    const { data } = only<ConfigMap>(manifests(overlay), 'ConfigMap');
    // The image's /app is this repository's root.
    const models = (data.AWNET_MODELS ?? '').split(',').map((f) => repoPath(f.replace(/^\/app\//, '')));
    return loadConfig({ ...data, AWNET_MODELS: models.join(',') }, repoPath());
  };

  it('each overlay renders exactly the expected kinds, one autoscaler each', () => {
    for (const overlay of OVERLAYS) {
      assert.deepEqual(manifests(overlay).map((m) => m.kind).sort(), KINDS[overlay], overlay);
    }
    // The base has no autoscaler and no image: it is not meant to be applied alone.
    assert.deepEqual(base.map((m) => m.kind).sort(), SHARED);
    assert.deepEqual(kserve.map((m) => m.kind).sort(), ['InferenceService', 'Namespace', 'PodMonitor', 'PrometheusRule', 'ServingRuntime']);
  });

  it('every rendered manifest is valid against the Kubernetes, Prometheus Operator, KEDA and KServe schemas', async () => {
    for (const [name, list] of [['base', base], [KSERVE_OVERLAY, kserve], ...OVERLAYS.map((o) => [o, manifests(o)] as const)] as const) {
      const errors = (await Promise.all(list.map(schemaErrors))).flat();
      assert.deepEqual(errors, [], `${name}: schema errors`);
    }
  });

  it('no rendered manifest has a field the API does not define', () => {
    const errors = unknownFieldErrors([...base, ...kserve, ...OVERLAYS.flatMap(manifests)]);
    assert.deepEqual(errors, []);
  });

  it('the validators reject broken manifests (they can fail)', async () => {
    const deployment = structuredClone(only(manifests('cpu'), 'Deployment')) as Manifest & Deployment;
    const container = deployment.spec.template.spec.containers[0];
    assert.ok(container);
    (container.ports[0] as { containerPort: unknown }).containerPort = 'eight thousand';
    const schema = await schemaErrors(deployment);
    assert.ok(schema.some((e) => e.includes('containerPort')), schema.join('\n'));

    const misspelt = structuredClone(only(manifests('cpu'), 'Deployment')) as Manifest & Deployment;
    const c = misspelt.spec.template.spec.containers[0] as unknown as Record<string, unknown>;
    c.readinesProbe = c.readinessProbe;
    delete c.readinessProbe;
    const fields = unknownFieldErrors([misspelt]);
    assert.ok(fields.some((e) => e.includes('readinesProbe')), fields.join('\n'));

    const monitor = structuredClone(only(manifests('cpu'), 'ServiceMonitor')) as Manifest & { spec: { endpoints: { interval: string }[] } };
    (monitor.spec.endpoints[0] as { interval: string }).interval = 'every 15 seconds';
    assert.notDeepEqual(await schemaErrors(monitor), []);

    const scaled = structuredClone(only(manifests('gpu'), 'ScaledObject')) as Manifest & { spec: Record<string, unknown> };
    scaled.spec.minReplicaCount = 'two';
    assert.notDeepEqual(await schemaErrors(scaled), [], 'the KEDA schema rejects a string replica count');
    delete scaled.spec.minReplicaCount;
    scaled.spec.minReplicas = 2;
    assert.ok(unknownFieldErrors([scaled]).some((e) => e.includes('minReplicas')), 'HPA field names are not KEDA field names');

    const runtime = structuredClone(only(kserve, 'ServingRuntime')) as Manifest & IServingRuntime;
    (runtime.spec.containers[0] as unknown as Record<string, unknown>).ports = [{ containerPort: 'http' }];
    assert.ok((await schemaErrors(runtime)).some((e) => e.includes('containers/0')), 'an embedded container is checked against the Kubernetes schema');
    const isvc = structuredClone(only(kserve, 'InferenceService')) as unknown as Manifest & { spec: { predictor: Record<string, unknown> } };
    isvc.spec.predictor.scaleMetrics = 'concurrency';
    assert.ok(unknownFieldErrors([isvc]).some((e) => e.includes('scaleMetrics')), 'a misspelt KServe field fails');
    delete isvc.spec.predictor.model;
    assert.ok((await schemaErrors(isvc)).some((e) => e.includes('model is required')));
  });

  it('kustomize renders every kustomization without deprecation warnings, and no deprecated field is used', async () => {
    for (const [name, text] of warnings) assert.doesNotMatch(text, /deprecated/i, `${name}: ${text}`);
    const files: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.name === 'kustomization.yaml') files.push(full);
      }
    };
    await walk(repoPath('k8s'));
    assert.ok(files.length >= 8, files.join(', '));
    for (const file of files) {
      const fields = Object.keys(parse(await readFile(file, 'utf8')) as Record<string, unknown>);
      assert.deepEqual(fields.filter((f) => DEPRECATED_KUSTOMIZE_FIELDS.includes(f)), [], path.relative(repoPath(), file));
    }
    // The check can fail: this kustomize does warn about the fields the manifests used to use.
    const old = path.join(scratch, 'deprecated');
    await cp(repoPath('k8s'), path.join(old, 'k8s'), { recursive: true });
    await writeFile(path.join(old, 'kustomization.yaml'), stringify({ bases: ['k8s/base'], patchesStrategicMerge: [] }));
    assert.match((await renderWithWarnings(old)).warnings, /'bases' is deprecated/);
  });

  it('ServiceMonitor and PrometheusRule carry the label kube-prometheus-stack selects them by', () => {
    for (const overlay of OVERLAYS) {
      for (const kind of ['ServiceMonitor', 'PrometheusRule']) {
        const m = only(manifests(overlay), kind);
        assert.ok(matches(KUBE_PROMETHEUS_STACK_SELECTOR, m.metadata.labels), `${overlay}: ${kind} labels ${JSON.stringify(m.metadata.labels)}`);
      }
    }
    // Without the component (the base alone) nothing would be scraped or loaded.
    assert.ok(!matches(KUBE_PROMETHEUS_STACK_SELECTOR, only(base, 'ServiceMonitor').metadata.labels));
  });

  it('images name one release build in a registry, so pulls work and a new build rolls the pods', () => {
    for (const overlay of OVERLAYS) {
      const [container] = only<Deployment>(manifests(overlay), 'Deployment').spec.template.spec.containers;
      assert.ok(container);
      assert.deepEqual(imageProblems(container.image, version), [], overlay);
      assert.ok(container.image.endsWith(overlay === 'gpu' ? '-gpu' : '-cpu'), `${overlay}: ${container.image}`);
      // IfNotPresent is safe only because the tag (or digest) is immutable.
      assert.equal(container.imagePullPolicy, 'IfNotPresent');
    }
    const runtime = only<IServingRuntime>(kserve, 'ServingRuntime');
    assert.deepEqual(imageProblems(runtime.spec.containers[0]?.image ?? '', version), []);
    // The checker can fail: the references the manifests used to have.
    assert.equal(imageProblems('awnet-serve:cpu', version).length, 2);
    assert.match(imageProblems('registry.example.com/awnet-serve:gpu', version).join(), /does not name a release/);
    assert.match(imageProblems('registry.example.com/awnet-serve', version).join(), /no tag/);
    assert.deepEqual(imageProblems(`registry.example.com:5000/awnet-serve@sha256:${'a'.repeat(64)}`, version), []);
  });

  it('every runbook_url is absolute and comes from the one setting in k8s/components/alerting/runbooks.yaml', async () => {
    const setting = parse(await readFile(repoPath('k8s', 'components', 'alerting', 'runbooks.yaml'), 'utf8')) as { data: { baseURL: string } };
    const urls = (list: Manifest[]) =>
      (only(list, 'PrometheusRule') as unknown as { spec: { groups: { rules: { alert?: string; annotations?: { runbook_url?: string } }[] }[] } }).spec.groups
        .flatMap((g) => g.rules)
        .filter((r) => r.alert !== undefined)
        .map((r) => [r.alert as string, r.annotations?.runbook_url ?? ''] as const);
    for (const overlay of OVERLAYS) {
      for (const [alert, url] of urls(manifests(overlay))) assert.equal(url, `${setting.data.baseURL}#${alert.toLowerCase()}`, overlay);
    }
    // Changing the setting changes every link (a copy of k8s/ with another base).
    const copy = path.join(scratch, 'runbooks');
    await cp(repoPath('k8s'), copy, { recursive: true });
    const mine = 'https://git.internal.example/ml/awnet-serve/-/blob/v1/docs/alerts.md';
    await writeFile(path.join(copy, 'components', 'alerting', 'runbooks.yaml'), stringify({ ...setting, data: { baseURL: mine } }));
    const moved = urls(await renderKustomization(path.join(copy, 'overlays', 'gpu')));
    assert.ok(moved.length >= 10);
    for (const [alert, url] of moved) assert.equal(url, `${mine}#${alert.toLowerCase()}`);
  });

  it('the ConfigMap sets only configuration keys the service reads', () => {
    for (const overlay of OVERLAYS) {
      const config = only<ConfigMap>(manifests(overlay), 'ConfigMap');
      const unknown = Object.keys(config.data).filter((k) => !(CONFIG_KEYS as readonly string[]).includes(k));
      assert.deepEqual(unknown, [], `${overlay}: keys the service does not read`);
      assert.equal(config.data.AWNET_EXECUTION_PROVIDERS, overlay === 'gpu' ? 'cuda,cpu' : 'cpu', overlay);
    }
  });

  it('the service accepts every ConfigMap value, and AWNET_MODELS names the models baked into the image', (t) => {
    for (const overlay of OVERLAYS) {
      const { data } = only<ConfigMap>(manifests(overlay), 'ConfigMap');
      const files = (data.AWNET_MODELS ?? '').split(',');
      assert.ok(files.length > 0 && files.every((f) => f.startsWith('/app/models/')), 'models come from the image (Dockerfile: COPY models ./models)');
      const local = files.map((f) => repoPath(f.replace(/^\/app\//, '')));
      const absent = local.filter((f) => !existsSync(f));
      if (absent.length > 0) {
        t.skip(`shipped models not present yet: ${absent.join(', ')}`);
        return;
      }
      const config = configOf(overlay);
      assert.equal(config.port, Number(data.AWNET_PORT));
      assert.equal(config.shutdownGraceMs, Number(data.AWNET_SHUTDOWN_GRACE_MS));
      assert.deepEqual(config.models, local);
    }
  });

  it('the Deployment wires the ConfigMap, port and probes together', () => {
    for (const overlay of OVERLAYS) {
      const list = manifests(overlay);
      const config = only<ConfigMap>(list, 'ConfigMap');
      const deployment = only<Deployment>(list, 'Deployment');
      assert.equal(deployment.spec.replicas, undefined, 'the autoscaler owns the replica count');
      const [container, ...others] = deployment.spec.template.spec.containers;
      assert.ok(container);
      assert.equal(others.length, 0);
      assert.deepEqual(container.envFrom, [{ configMapRef: { name: config.metadata.name } }]);
      const http = container.ports.find((p) => p.name === 'http');
      assert.equal(String(http?.containerPort), config.data.AWNET_PORT);
      assert.deepEqual(container.readinessProbe.httpGet, { path: '/v2/health/ready', port: 'http' });
      assert.deepEqual(container.livenessProbe.httpGet, { path: '/v2/health/live', port: 'http' });
      assert.deepEqual(container.startupProbe.httpGet, { path: '/v2/health/live', port: 'http' });
    }
  });

  it('CPU requests are every inference thread (workers are per model) plus the event loop, no more', () => {
    for (const overlay of OVERLAYS) {
      const config = configOf(overlay);
      const [container] = only<Deployment>(manifests(overlay), 'Deployment').spec.template.spec.containers;
      const threads = config.models.length * config.workers * config.intraOpThreads;
      const request = Number(container?.resources.requests.cpu);
      assert.ok(Number.isFinite(request), `${overlay}: cpu request ${container?.resources.requests.cpu} in whole CPUs`);
      // More would be CPU the pod never uses, and a utilisation target it never reaches.
      assert.equal(request, threads + 1, `${overlay}: ${config.models.length} models x ${config.workers} workers x ${config.intraOpThreads} threads + 1 != ${request} CPUs requested`);
      assert.ok(request <= Number(container?.resources.limits.cpu), `${overlay}: limit below request`);
    }
  });

  it('rollouts cannot stall: a GPU pod is replaced in place, a CPU pod surges first', () => {
    for (const overlay of OVERLAYS) {
      const spec = only<Deployment>(manifests(overlay), 'Deployment').spec;
      const gpus = spec.template.spec.containers.some((c) => c.resources.limits['nvidia.com/gpu'] !== undefined);
      assert.equal(spec.strategy.type, 'RollingUpdate');
      if (gpus) {
        // A surge pod needs a free GPU; in a full GPU pool it stays pending and the rollout with it.
        assert.deepEqual(spec.strategy.rollingUpdate, { maxSurge: 0, maxUnavailable: 1 }, overlay);
      } else {
        assert.deepEqual(spec.strategy.rollingUpdate, { maxSurge: 1, maxUnavailable: 0 }, overlay);
      }
    }
  });

  it('termination grace covers the preStop sleep plus the service drain time', () => {
    for (const overlay of OVERLAYS) {
      const list = manifests(overlay);
      const config = only<ConfigMap>(list, 'ConfigMap');
      const pod = only<Deployment>(list, 'Deployment').spec.template.spec;
      const container = pod.containers[0];
      assert.ok(container);
      const [cmd, seconds, ...rest] = container.lifecycle.preStop.exec.command;
      assert.equal(cmd, 'sleep');
      assert.equal(rest.length, 0);
      const sleep = Number(seconds);
      assert.ok(sleep > 0 && Number.isInteger(sleep), `preStop sleep ${seconds}`);
      const drain = Math.ceil(Number(config.data.AWNET_SHUTDOWN_GRACE_MS) / 1000);
      assert.ok(Number.isFinite(drain));
      assert.equal(pod.terminationGracePeriodSeconds, sleep + drain + EXIT_MARGIN_SECONDS, overlay);
    }
  });

  it('pods run unprivileged, read-only, with requests and limits', async () => {
    const dockerfile = await readFile(repoPath('Dockerfile'), 'utf8');
    const users = [...dockerfile.matchAll(/^USER\s+(\d+):(\d+)\s*$/gm)].map((m) => [Number(m[1]), Number(m[2])]);
    assert.ok(users.length >= 2, 'the Dockerfile sets numeric users');
    for (const overlay of OVERLAYS) {
      const pod = only<Deployment>(manifests(overlay), 'Deployment').spec.template.spec;
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
      for (const [uid, gid] of users) {
        assert.equal(pod.securityContext.runAsUser, uid, 'the pod runs as the image user');
        assert.equal(pod.securityContext.runAsGroup, gid);
      }
      for (const c of pod.containers) {
        assert.equal(c.securityContext.allowPrivilegeEscalation, false);
        assert.equal(c.securityContext.readOnlyRootFilesystem, true);
        assert.equal(c.securityContext.privileged, false);
        assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
        for (const r of ['cpu', 'memory']) {
          assert.ok(c.resources.requests[r], `${overlay}: ${r} request`);
          assert.ok(c.resources.limits[r], `${overlay}: ${r} limit`);
        }
      }
    }
  });

  it('query-attack evidence has an emptyDir of its own, off by default, larger than its byte budget', (t) => {
    const units: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
    for (const overlay of OVERLAYS) {
      const list = manifests(overlay);
      const { data } = only<ConfigMap>(list, 'ConfigMap');
      const pod = only<Deployment>(list, 'Deployment').spec.template.spec;
      const mount = pod.containers[0]?.volumeMounts?.find((m) => m.name === 'evidence');
      const volume = pod.volumes?.find((v) => v.name === 'evidence');
      assert.ok(mount && volume?.emptyDir, `${overlay}: an evidence emptyDir mounted in the container (the root filesystem is read-only)`);
      assert.notEqual(mount.readOnly, true);
      assert.equal(data.AWNET_EVIDENCE_DIR, undefined, `${overlay}: evidence is off by default`);
      const [, amount = '', unit = ''] = /^(\d+)(Ki|Mi|Gi)$/.exec(volume.emptyDir.sizeLimit ?? '') ?? [];
      const limit = Number(amount) * (units[unit] ?? Number.NaN);
      assert.ok(limit > Number(data.AWNET_EVIDENCE_MAX_BYTES), `${overlay}: sizeLimit ${volume.emptyDir.sizeLimit} must exceed AWNET_EVIDENCE_MAX_BYTES ${data.AWNET_EVIDENCE_MAX_BYTES}`);
      if (!existsSync(repoPath('models', 'fmnist-tiny-awnet.onnx'))) {
        t.skip('shipped models not present yet');
        return;
      }
      const config = configOf(overlay);
      assert.equal(config.queryAttack.action, 'observe', `${overlay}: detection observes by default`);
      assert.equal(config.evidence.maxBytes, Number(data.AWNET_EVIDENCE_MAX_BYTES));
    }
  });

  it('the GPU overlay asks for one GPU (request = limit); the CPU overlays for none', () => {
    const gpu = only<Deployment>(manifests('gpu'), 'Deployment').spec.template.spec.containers[0];
    assert.equal(gpu?.resources.limits['nvidia.com/gpu'], '1');
    assert.equal(gpu?.resources.requests['nvidia.com/gpu'], '1');
    for (const overlay of ['cpu', 'cpu-hpa'] as const) assert.ok(!JSON.stringify(only(manifests(overlay), 'Deployment')).includes('nvidia.com/gpu'));
  });

  it('Service, ServiceMonitor and PDB select the Deployment, in the overlay namespace', () => {
    for (const overlay of OVERLAYS) {
      const list = manifests(overlay);
      const deployment = only<Deployment>(list, 'Deployment');
      const namespace = only(list, 'Namespace').metadata.name;
      for (const m of list.filter((x) => x.kind !== 'Namespace')) assert.equal(m.metadata.namespace, namespace, `${overlay}: ${m.kind}`);
      const podLabels = deployment.spec.template.metadata.labels;
      assert.ok(matches(deployment.spec.selector.matchLabels, podLabels));
      const service = only<{ spec: { selector: Record<string, string>; ports: { name: string; targetPort: string }[] } }>(list, 'Service');
      assert.ok(matches(service.spec.selector, podLabels), 'Service selects the pods');
      assert.deepEqual(service.spec.ports.map((p) => [p.name, p.targetPort]), [['http', 'http'], ['admin', 'admin']]);
      const monitor = only<{ spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] } }>(list, 'ServiceMonitor');
      assert.ok(matches(monitor.spec.selector.matchLabels, service.metadata.labels), 'ServiceMonitor selects the Service');
      assert.deepEqual(monitor.spec.endpoints.map((e) => [e.port, e.path]), [['admin', '/metrics']], 'scraped on the admin port, never the public one');
      // The alert rules and the autoscaler select job="awnet-serve": the Service's name becomes the job label.
      assert.equal(service.metadata.name, 'awnet-serve');
      const pdb = only<{ spec: { selector: { matchLabels: Record<string, string> } } }>(list, 'PodDisruptionBudget');
      assert.ok(matches(pdb.spec.selector.matchLabels, podLabels), 'PDB selects the pods');
    }
  });

  it('KEDA scales the Deployment on images in flight, from this namespace, with a target of one batch per worker', async () => {
    const exported = seriesNames(await serviceMetricTypes());
    for (const overlay of ['gpu', 'cpu'] as const) {
      const list = manifests(overlay);
      const deployment = only<Deployment>(list, 'Deployment');
      const scaled = only<ScaledObject>(list, 'ScaledObject');
      assert.deepEqual(scaled.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
      const [trigger, ...more] = scaled.spec.triggers;
      assert.ok(trigger);
      assert.equal(more.length, 0);
      assert.equal(trigger.type, 'prometheus');
      assert.equal(trigger.metricType, 'AverageValue', 'a per-pod target');
      const query = trigger.metadata.query ?? '';
      assert.match(query, /\bawnet_images_in_flight\b/);
      assert.ok(exported.has('awnet_images_in_flight'), 'the service exports the metric the autoscaler reads');
      const selector = /awnet_images_in_flight\{([^}]*)\}/.exec(query)?.[1] ?? '';
      assert.match(selector, new RegExp(`namespace="${deployment.metadata.namespace}"`), `${overlay}: the query reads another namespace: ${query}`);
      assert.match(selector, /job="awnet-serve"/);
      const config = configOf(overlay);
      assert.equal(Number(trigger.metadata.threshold), config.maxBatchSize * config.workers, `${overlay}: threshold`);
      // kube-prometheus-stack's Prometheus Service is named after the release the labels select.
      assert.match(trigger.metadata.serverAddress ?? '', new RegExp(`^http://${KUBE_PROMETHEUS_STACK_SELECTOR.release}-prometheus\\.[a-z0-9-]+\\.svc:9090$`));
      assert.ok(scaled.spec.minReplicaCount <= (scaled.spec.fallback?.replicas ?? 0) && (scaled.spec.fallback?.replicas ?? 0) <= scaled.spec.maxReplicaCount);
    }
    assert.equal(only<ScaledObject>(manifests('gpu'), 'ScaledObject').spec.maxReplicaCount, 4, 'one GPU each: the fleet fits a GPU pool');
    // The query is valid PromQL.
    const file = path.join(scratch, 'autoscaler-queries.yml');
    const rules = ['gpu', 'cpu'].map((o, i) => ({ record: `autoscaler:query_${i}:check`, expr: only<ScaledObject>(manifests(o as Overlay), 'ScaledObject').spec.triggers[0]?.metadata.query }));
    await writeFile(file, stringify({ groups: [{ name: 'autoscaler', rules }] }));
    const result = await run('promtool', ['check', 'rules', file]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
  });

  it('the cpu-hpa overlay scales on CPU with the built-in HPA instead', () => {
    const list = manifests('cpu-hpa');
    const hpa = only<Hpa>(list, 'HorizontalPodAutoscaler');
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'awnet-serve' });
    assert.deepEqual(hpa.spec.metrics.map((m) => m.resource?.name), ['cpu']);
    assert.ok(hpa.spec.minReplicas >= 2 && hpa.spec.minReplicas <= hpa.spec.maxReplicas);
  });

  it('the PrometheusRule carries exactly the rules of monitoring/alert-rules.yml, runbook base aside', async () => {
    const rules = parse(await readFile(repoPath('monitoring', 'alert-rules.yml'), 'utf8')) as { groups: unknown };
    const setting = parse(await readFile(repoPath('k8s', 'components', 'alerting', 'runbooks.yaml'), 'utf8')) as { data: { baseURL: string } };
    const withBase = (value: unknown): unknown => JSON.parse(JSON.stringify(value).replace(/"runbook_url":"[^"#]*#/g, `"runbook_url":"${setting.data.baseURL}#`));
    for (const overlay of OVERLAYS) {
      const rule = only<{ spec: { groups: unknown } }>(manifests(overlay), 'PrometheusRule');
      assert.deepEqual(rule.spec.groups, withBase(rules.groups), overlay);
    }
  });

  it('KServe: the ServingRuntime runs the image on the Open Inference Protocol, the InferenceService serves the default model with it', async () => {
    const runtime = only<IServingRuntime>(kserve, 'ServingRuntime');
    const isvc = only<IInferenceService>(kserve, 'InferenceService');
    const [container, ...others] = runtime.spec.containers;
    assert.ok(container);
    assert.equal(others.length, 0);
    assert.equal(container.name, 'kserve-container');
    assert.deepEqual(runtime.spec.protocolVersions, ['v2']);
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? '']));
    assert.deepEqual(Object.keys(env).filter((k) => !(CONFIG_KEYS as readonly string[]).includes(k)), [], 'env keys the service reads');
    const config = loadConfig({ ...env, AWNET_MODELS: (env.AWNET_MODELS ?? '').split(',').map((f) => repoPath(f.replace(/^\/app\//, ''))).join(',') }, repoPath());
    assert.deepEqual(container.ports?.map((p) => p.containerPort), [config.port], 'one port, the one the service listens on');
    assert.equal(container.readinessProbe?.httpGet?.path, '/v2/health/ready');
    assert.equal(container.readinessProbe?.httpGet?.port, config.port);
    assert.ok(config.models.length * config.workers * config.intraOpThreads + 1 <= Number(container.resources?.requests?.cpu));
    assert.equal(container.securityContext?.runAsNonRoot, true);
    assert.equal(container.securityContext?.runAsUser, 10001);
    assert.equal(container.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext?.capabilities?.drop, ['ALL']);

    const model = isvc.spec.predictor.model;
    assert.equal(model.runtime, runtime.metadata.name);
    assert.ok(runtime.spec.protocolVersions?.includes(model.protocolVersion ?? 'v1'));
    assert.ok(runtime.spec.supportedModelFormats?.some((f) => f.name === model.modelFormat.name && f.version === model.modelFormat.version));
    // KServe routes /v2/models/<name>/infer to the predictor; the service answers under the model's own name.
    const metadata = JSON.parse(await readFile(repoPath('models', `${path.basename(config.models[0] ?? '', '.onnx')}.json`), 'utf8')) as { name: string };
    assert.equal(isvc.metadata.name, metadata.name);
    assert.equal(isvc.spec.predictor.scaleMetric, 'concurrency');
    // Knative counts requests, each up to maxFiles images: one full batch per worker at worst.
    assert.equal(isvc.spec.predictor.scaleTarget, (config.maxBatchSize * config.workers) / config.maxFiles);
    assert.equal(container.livenessProbe?.httpGet?.path, '/v2/health/live', 'a pod whose model cannot recover is restarted');
    assert.ok((isvc.spec.predictor.minReplicas ?? 1) >= 2, 'two pods at least, so that one can be lost');
    for (const m of kserve.filter((x) => x.kind !== 'Namespace')) assert.equal(m.metadata.namespace, only(kserve, 'Namespace').metadata.name);
  });
});
