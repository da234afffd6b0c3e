import ts from 'typescript';
import type { Manifest } from '../../bench/drill/k8s-render.js';
import { repoPath } from '../../bench/drill/repo.js';

interface ModelRef {
  /** Module of kubernetes-models (or one of its CRD packages) holding the class. */
  readonly module: string;
  readonly className: string;
  /** For kinds with no published schema package: checks the Kubernetes objects they embed. */
  readonly validate?: (m: Manifest) => Promise<string[]>;
}

/** Every kind the manifests may contain, with the published JSON schema's model for it. */
const MODELS: Readonly<Record<string, ModelRef>> = {
  'v1/Namespace': { module: 'kubernetes-models/v1/Namespace', className: 'Namespace' },
  'v1/ConfigMap': { module: 'kubernetes-models/v1/ConfigMap', className: 'ConfigMap' },
  'v1/Service': { module: 'kubernetes-models/v1/Service', className: 'Service' },
  'apps/v1/Deployment': { module: 'kubernetes-models/apps/v1/Deployment', className: 'Deployment' },
  'autoscaling/v2/HorizontalPodAutoscaler': { module: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler', className: 'HorizontalPodAutoscaler' },
  'networking.k8s.io/v1/NetworkPolicy': { module: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy', className: 'NetworkPolicy' },
  'monitoring.coreos.com/v1/PodMonitor': { module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor', className: 'PodMonitor' },
  'policy/v1/PodDisruptionBudget': { module: 'kubernetes-models/policy/v1/PodDisruptionBudget', className: 'PodDisruptionBudget' },
  'monitoring.coreos.com/v1/ServiceMonitor': { module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor', className: 'ServiceMonitor' },
  'monitoring.coreos.com/v1/PrometheusRule': { module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule', className: 'PrometheusRule' },
  'keda.sh/v1alpha1/ScaledObject': { module: '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject', className: 'ScaledObject' },
  'serving.kserve.io/v1alpha1/ServingRuntime': { module: './kserve-types.js', className: 'ServingRuntime', validate: servingRuntimeErrors },
  'serving.kserve.io/v1beta1/InferenceService': { module: './kserve-types.js', className: 'InferenceService', validate: inferenceServiceErrors },
};

const describe = (m: Manifest): string => `${m.kind}/${m.metadata?.name ?? '(no name)'}`;

/** Validates `data` as the kubernetes-models class `className` of `module`. */
async function modelErrors(where: string, module: string, className: string, data: unknown): Promise<string[]> {
  const mod = (await import(module)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = mod[className];
  if (Model === undefined) throw new Error(`${module} has no export ${className}`);
  try {
    new Model(data).validate();
    return [];
  } catch (err) {
    const details = (err as { errors?: { instancePath: string; message?: string }[] }).errors;
    if (details === undefined) return [`${where}: ${(err as Error).message}`];
    return details.map((d) => `${where}${d.instancePath || ''} ${d.message ?? ''}`.trim());
  }
}

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** KServe's required fields, and every embedded container and volume against the Kubernetes schema. */
async function servingRuntimeErrors(m: Manifest): Promise<string[]> {
  const spec = (m as unknown as { spec?: { containers?: unknown[]; volumes?: unknown[]; supportedModelFormats?: { name?: unknown }[] } }).spec;
  const errors: string[] = [];
  if (!DNS_LABEL.test(m.metadata?.name ?? '')) errors.push(`${describe(m)}: /metadata/name is not a DNS label`);
  if (!Array.isArray(spec?.containers) || spec.containers.length === 0) errors.push(`${describe(m)}: /spec/containers is required`);
  for (const [i, f] of (spec?.supportedModelFormats ?? []).entries()) {
    if (typeof f.name !== 'string' || f.name === '') errors.push(`${describe(m)}: /spec/supportedModelFormats/${i}/name is required`);
  }
  for (const [i, c] of (spec?.containers ?? []).entries()) errors.push(...(await modelErrors(`${describe(m)}: /spec/containers/${i}`, 'kubernetes-models/v1/Container', 'Container', c)));
  for (const [i, v] of (spec?.volumes ?? []).entries()) errors.push(...(await modelErrors(`${describe(m)}: /spec/volumes/${i}`, 'kubernetes-models/v1/Volume', 'Volume', v)));
  return errors;
}

async function inferenceServiceErrors(m: Manifest): Promise<string[]> {
  type Predictor = { model?: Record<string, unknown> & { modelFormat?: { name?: unknown } }; minReplicas?: number; maxReplicas?: number };
  const predictor = (m as unknown as { spec?: { predictor?: Predictor } }).spec?.predictor;
  const errors: string[] = [];
  // KServe's own rule for InferenceService names (they become host names).
  if (!DNS_LABEL.test(m.metadata?.name ?? '')) errors.push(`${describe(m)}: /metadata/name is not a valid InferenceService name`);
  if (predictor?.model === undefined) return [...errors, `${describe(m)}: /spec/predictor/model is required`];
  if (typeof predictor.model.modelFormat?.name !== 'string') errors.push(`${describe(m)}: /spec/predictor/model/modelFormat/name is required`);
  if ((predictor.minReplicas ?? 1) < 0 || (predictor.maxReplicas ?? 0) < 0) errors.push(`${describe(m)}: replicas cannot be negative`);
  if (predictor.maxReplicas !== undefined && predictor.maxReplicas !== 0 && (predictor.minReplicas ?? 1) > predictor.maxReplicas) {
    errors.push(`${describe(m)}: minReplicas cannot be greater than maxReplicas`);
  }
  // The model's inline container fields are a core container's (without its name).
  const { modelFormat: _format, runtime: _runtime, runtimeVersion: _version, protocolVersion: _protocol, storageUri: _uri, ...container } = predictor.model;
  errors.push(...(await modelErrors(`${describe(m)}: /spec/predictor/model`, 'kubernetes-models/v1/Container', 'Container', { name: 'kserve-container', ...container })));
  return errors;
}

function modelFor(m: Manifest): ModelRef {
  const ref = MODELS[`${m.apiVersion}/${m.kind}`];
  if (ref === undefined) throw new Error(`${describe(m)}: no schema known for ${m.apiVersion} ${m.kind}`);
  return ref;
}

/**
 * Validates against the Kubernetes / Prometheus Operator JSON schema (types, formats,
 * patterns, required fields). Returns the problems found; empty when valid.
 */
export async function schemaErrors(m: Manifest): Promise<string[]> {
  const ref = modelFor(m);
  if (ref.validate) return ref.validate(m);
  return modelErrors(describe(m), ref.module, ref.className, m);
}

/**
 * The JSON schemas allow unknown fields (as the API server does without strict field
 * validation), so a misspelt field would pass them. This check types every manifest as
 * the models' TypeScript interface: an object literal with a field the API does not
 * define is a compile error, at any depth.
 */
export function unknownFieldErrors(manifests: readonly Manifest[]): string[] {
  // A virtual file inside the repository, so that node_modules resolves from it.
  const file = repoPath('test', 'deploy', '__manifest-fields__.ts');
  const lines: string[] = [];
  const owners: { line: number; name: string }[] = [];
  manifests.forEach((m, i) => {
    const ref = modelFor(m);
    lines.push(`import type { I${ref.className} as T${i} } from '${ref.module}';`);
  });
  manifests.forEach((m, i) => {
    owners.push({ line: lines.length, name: describe(m) });
    lines.push(`export const m${i}: T${i} = ${JSON.stringify(m, null, 2)};`);
  });
  const text = lines.join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (name, language, ...rest) => (name === file ? ts.createSourceFile(name, text, language, true) : getSourceFile(name, language, ...rest));
  host.fileExists = (name) => name === file || fileExists(name);
  host.readFile = (name) => (name === file ? text : readFile(name));
  const program = ts.createProgram([file], options, host);
  const source = program.getSourceFile(file);
  if (source === undefined) throw new Error('the virtual manifest file was not loaded');
  return ts.getPreEmitDiagnostics(program, source).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    if (d.file !== source || d.start === undefined) return message;
    const { line } = source.getLineAndCharacterOfPosition(d.start);
    const owner = [...owners].reverse().find((o) => o.line <= line);
    const path = source.text.split('\n')[line]?.trim() ?? '';
    return `${owner?.name ?? '?'}: ${message} (at: ${path})`;
  });
}
