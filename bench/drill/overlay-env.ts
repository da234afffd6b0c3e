import { only, renderKustomization } from './k8s-render.js';
import { repoPath } from './repo.js';

/** Where the image keeps the models; the drill serves the same files from the repository. */
const IMAGE_MODELS = '/app/models/';

/**
 * The service's environment in a Kubernetes overlay: the literals of its generated
 * ConfigMap (awnet-serve-config), rendered by kubectl's kustomize, with the image's model
 * paths turned into the repository's models/ folder.
 */
export async function overlayEnvironment(overlay: string): Promise<Record<string, string>> {
  const manifests = await renderKustomization(repoPath('k8s', 'overlays', overlay));
  const configMaps = manifests.filter((m) => m.kind === 'ConfigMap' && m.metadata.name.startsWith('awnet-serve-config'));
  const data = (only<{ data: Record<string, string> }>(configMaps, 'ConfigMap').data ?? {}) as Record<string, string>;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    env[key] = key === 'AWNET_MODELS' ? value.split(',').map((p) => (p.startsWith(IMAGE_MODELS) ? repoPath('models', p.slice(IMAGE_MODELS.length)) : p)).join(',') : value;
  }
  return env;
}
