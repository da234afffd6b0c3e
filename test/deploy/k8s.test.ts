import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { existsSync } from 'node:fs';
import { CONFIG_KEYS, loadConfig } from '../../src/server/config.js';
import { OVERLAYS, only, renderKustomization, renderOverlay, type Manifest, type Overlay } from './k8s-render.js';
import { schemaErrors, unknownFieldErrors } from './k8s-schemas.js';
import { repoPath } from './repo.js';

interface Probe {
  httpGet?: { path: string; port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
}
interface Container {
  name: string;
  image: string;
  ports: { name: string; containerPort: number }[];
  envFrom: { configMapRef?: { name: string } }[];
  startupProbe: Probe;
  readinessProbe: Probe;
  livenessProbe: Probe;
  lifecycle: { preStop: { exec: { command: string[] } } };
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: Record<string, unknown> & { capabilities: { drop: string[] } };
}
interface Deployment {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        terminationGracePeriodSeconds: number;
        securityContext: Record<string, unknown> & { seccompProfile: { type: string } };
        containers: Container[];
      };
    };
  };
}
interface ConfigMap {
  metadata: { name: string };
  data: Record<string, string>;
}

/** Extra time after the drain deadline for the process to exit and the kubelet to notice. */
const EXIT_MARGIN_SECONDS = 5;
const KINDS = ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'PrometheusRule', 'Service', 'ServiceMonitor'];

const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined): boolean =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

describe('Kubernetes manifests', () => {
  const rendered = new Map<Overlay, Manifest[]>();
  let base: Manifest[] = [];

  before(async () => {
    base = await renderKustomization(repoPath('k8s', 'base'));
    for (const overlay of OVERLAYS) rendered.set(overlay, await renderOverlay(overlay));
  });
  const manifests = (overlay: Overlay): Manifest[] => rendered.get(overlay) ?? assert.fail(`${overlay} not rendered`);

  it('each overlay renders exactly the expected kinds', () => {
    for (const overlay of OVERLAYS) {
      assert.deepEqual(manifests(overlay).map((m) => m.kind).sort(), KINDS, overlay);
    }
    assert.deepEqual(base.map((m) => m.kind).sort(), KINDS, 'base');
  });

  it('every rendered manifest is valid against the Kubernetes and Prometheus Operator schemas', async () => {
    for (const [name, list] of [['base', base], ...OVERLAYS.map((o) => [o, manifests(o)] as const)] as const) {
      const errors = (await Promise.all(list.map(schemaErrors))).flat();
      assert.deepEqual(errors, [], `${name}: schema errors`);
    }
  });

  it('no rendered manifest has a field the API does not define', () => {
    const errors = unknownFieldErrors([...base, ...OVERLAYS.flatMap(manifests)]);
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
      // The image's /app is this repository's root: check the same files here.
      const local = files.map((f) => repoPath(f.replace(/^\/app\//, '')));
      const absent = local.filter((f) => !existsSync(f));
      if (absent.length > 0) {
        t.skip(`shipped models not present yet: ${absent.join(', ')}`);
        return;
      }
      const config = loadConfig({ ...data, AWNET_MODELS: local.join(',') }, repoPath());
      assert.equal(config.port, Number(data.AWNET_PORT));
      assert.equal(config.shutdownGraceMs, Number(data.AWNET_SHUTDOWN_GRACE_MS));
      assert.deepEqual(config.models, local);
    }
  });

  it('the Deployment wires the ConfigMap, port, probes and image tag together', () => {
    for (const overlay of OVERLAYS) {
      const list = manifests(overlay);
      const config = only<ConfigMap>(list, 'ConfigMap');
      const deployment = only<Deployment>(list, 'Deployment');
      assert.equal(deployment.spec.replicas, undefined, 'the HPA owns the replica count');
      const [container, ...others] = deployment.spec.template.spec.containers;
      assert.ok(container);
      assert.equal(others.length, 0);
      assert.equal(container.image, `awnet-serve:${overlay}`);
      assert.deepEqual(container.envFrom, [{ configMapRef: { name: config.metadata.name } }]);
      const http = container.ports.find((p) => p.name === 'http');
      assert.equal(String(http?.containerPort), config.data.AWNET_PORT);
      assert.deepEqual(container.readinessProbe.httpGet, { path: '/v2/health/ready', port: 'http' });
      assert.deepEqual(container.livenessProbe.httpGet, { path: '/v2/health/live', port: 'http' });
      assert.deepEqual(container.startupProbe.httpGet, { path: '/v2/health/live', port: 'http' });
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

  it('the GPU overlay asks for one GPU (request = limit); the CPU overlay for none', () => {
    const gpu = only<Deployment>(manifests('gpu'), 'Deployment').spec.template.spec.containers[0];
    assert.equal(gpu?.resources.limits['nvidia.com/gpu'], '1');
    assert.equal(gpu?.resources.requests['nvidia.com/gpu'], '1');
    const cpu = JSON.stringify(only(manifests('cpu'), 'Deployment'));
    assert.ok(!cpu.includes('nvidia.com/gpu'));
  });

  it('Service, ServiceMonitor, HPA and PDB select the Deployment', () => {
    for (const overlay of OVERLAYS) {
      const list = manifests(overlay);
      const deployment = only<Deployment>(list, 'Deployment');
      const podLabels = deployment.spec.template.metadata.labels;
      assert.ok(matches(deployment.spec.selector.matchLabels, podLabels));
      const service = only<{ spec: { selector: Record<string, string>; ports: { name: string; targetPort: string }[] } }>(list, 'Service');
      assert.ok(matches(service.spec.selector, podLabels), 'Service selects the pods');
      assert.deepEqual(service.spec.ports.map((p) => [p.name, p.targetPort]), [['http', 'http']]);
      const monitor = only<{ spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] } }>(list, 'ServiceMonitor');
      assert.ok(matches(monitor.spec.selector.matchLabels, service.metadata.labels), 'ServiceMonitor selects the Service');
      assert.deepEqual(monitor.spec.endpoints.map((e) => [e.port, e.path]), [['http', '/metrics']]);
      // The alert rules select job="awnet-serve": the Service's name becomes the job label.
      assert.equal(service.metadata.name, 'awnet-serve');
      const hpa = only<{ spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number } }>(list, 'HorizontalPodAutoscaler');
      assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
      assert.ok(hpa.spec.minReplicas <= hpa.spec.maxReplicas);
      const pdb = only<{ spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } }>(list, 'PodDisruptionBudget');
      assert.ok(matches(pdb.spec.selector.matchLabels, podLabels), 'PDB selects the pods');
      assert.ok(pdb.spec.minAvailable < hpa.spec.minReplicas, 'the PDB still lets a node drain evict one pod');
    }
  });

  it('the PrometheusRule carries exactly the rules of monitoring/alert-rules.yml', async () => {
    const rules = parse(await readFile(repoPath('monitoring', 'alert-rules.yml'), 'utf8')) as { groups: unknown };
    for (const overlay of OVERLAYS) {
      const rule = only<{ spec: { groups: unknown } }>(manifests(overlay), 'PrometheusRule');
      assert.deepEqual(rule.spec.groups, rules.groups, overlay);
    }
  });
});
