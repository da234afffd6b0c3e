import { parseAllDocuments } from 'yaml';
import { run } from './repo.js';

/** The overlays that run the Deployment of k8s/base (kserve runs KServe's objects instead). */
export const OVERLAYS = ['gpu', 'cpu', 'cpu-hpa'] as const;
export type Overlay = (typeof OVERLAYS)[number];
export const KSERVE_OVERLAY = 'kserve';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

/**
 * kubectl from PATH, or the one AWNET_KUBECTL names. Its built-in kustomize must know
 * components, patches and replacements with wildcards (kustomize 4.5, kubectl 1.24 and
 * later); scripts/install-system-deps.sh checks.
 */
export const KUBECTL = process.env.AWNET_KUBECTL ?? 'kubectl';

export interface Rendered {
  readonly manifests: Manifest[];
  /** What kustomize printed besides the manifests: its warnings (deprecated fields, for one). */
  readonly warnings: string;
}

/** Renders a kustomization directory with kubectl's built-in kustomize, keeping its warnings. */
export async function renderWithWarnings(dir: string): Promise<Rendered> {
  const result = await run(KUBECTL, ['kustomize', dir]);
  if (result.code !== 0) throw new Error(`${KUBECTL} kustomize ${dir} failed (${result.code}):\n${result.stderr}`);
  const docs = parseAllDocuments(result.stdout);
  const manifests: Manifest[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${KUBECTL} kustomize ${dir} printed bad YAML: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as Manifest | null;
    if (value !== null) manifests.push(value);
  }
  return { manifests, warnings: result.stderr };
}

/** Renders a kustomization directory with kubectl's built-in kustomize. */
export async function renderKustomization(dir: string): Promise<Manifest[]> {
  return (await renderWithWarnings(dir)).manifests;
}

/** The one manifest of a kind; fails the test when there is not exactly one. */
export function only<T = Manifest>(manifests: readonly Manifest[], kind: string): T & Manifest {
  const found = manifests.filter((m) => m.kind === kind);
  if (found.length !== 1) throw new Error(`expected exactly one ${kind}, found ${found.length}`);
  return found[0] as T & Manifest;
}
