import ts from 'typescript';
import type { Manifest } from './k8s-render.js';
import { repoPath } from './repo.js';

interface ModelRef {
  /** Module of kubernetes-models (or its Prometheus Operator package) holding the class. */
  readonly module: string;
  readonly className: string;
}

/** Every kind the manifests may contain, with the published JSON schema's model for it. */
const MODELS: Readonly<Record<string, ModelRef>> = {
  'v1/ConfigMap': { module: 'kubernetes-models/v1/ConfigMap', className: 'ConfigMap' },
  'v1/Service': { module: 'kubernetes-models/v1/Service', className: 'Service' },
  'apps/v1/Deployment': { module: 'kubernetes-models/apps/v1/Deployment', className: 'Deployment' },
  'autoscaling/v2/HorizontalPodAutoscaler': { module: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler', className: 'HorizontalPodAutoscaler' },
  'policy/v1/PodDisruptionBudget': { module: 'kubernetes-models/policy/v1/PodDisruptionBudget', className: 'PodDisruptionBudget' },
  'monitoring.coreos.com/v1/ServiceMonitor': { module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor', className: 'ServiceMonitor' },
  'monitoring.coreos.com/v1/PrometheusRule': { module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule', className: 'PrometheusRule' },
};

const describe = (m: Manifest): string => `${m.kind}/${m.metadata?.name ?? '(no name)'}`;

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
  const mod = (await import(ref.module)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = mod[ref.className];
  if (Model === undefined) throw new Error(`${ref.module} has no export ${ref.className}`);
  try {
    new Model(m).validate();
    return [];
  } catch (err) {
    const details = (err as { errors?: { instancePath: string; message?: string }[] }).errors;
    if (details === undefined) return [`${describe(m)}: ${(err as Error).message}`];
    return details.map((d) => `${describe(m)}: ${d.instancePath || '/'} ${d.message ?? ''}`.trim());
  }
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
