import { parseAllDocuments } from 'yaml';
import { repoPath, run } from './repo.js';

export const OVERLAYS = ['gpu', 'cpu'] as const;
export type Overlay = (typeof OVERLAYS)[number];

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

/** kubectl from PATH, or the one AWNET_KUBECTL names (any kubectl since 1.14 renders these files). */
export const KUBECTL = process.env.AWNET_KUBECTL ?? 'kubectl';

/** Renders a kustomization directory with kubectl's built-in kustomize. */
export async function renderKustomization(dir: string): Promise<Manifest[]> {
  const result = await run(KUBECTL, ['kustomize', dir]);
  if (result.code !== 0) throw new Error(`${KUBECTL} kustomize ${dir} failed (${result.code}):\n${result.stderr}`);
  const docs = parseAllDocuments(result.stdout);
  const manifests: Manifest[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${KUBECTL} kustomize ${dir} printed bad YAML: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as Manifest | null;
    if (value !== null) manifests.push(value);
  }
  return manifests;
}

export const renderOverlay = (overlay: Overlay): Promise<Manifest[]> => renderKustomization(repoPath('k8s', 'overlays', overlay));

/** The one manifest of a kind; fails the test when there is not exactly one. */
export function only<T = Manifest>(manifests: readonly Manifest[], kind: string): T & Manifest {
  const found = manifests.filter((m) => m.kind === kind);
  if (found.length !== 1) throw new Error(`expected exactly one ${kind}, found ${found.length}`);
  return found[0] as T & Manifest;
}
