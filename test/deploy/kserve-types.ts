import type { IObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import type { IAffinity } from 'kubernetes-models/v1/Affinity';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { ILocalObjectReference } from 'kubernetes-models/v1/LocalObjectReference';
import type { IToleration } from 'kubernetes-models/v1/Toleration';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IDeploymentStrategy } from 'kubernetes-models/apps/v1/DeploymentStrategy';

// KServe publishes no schema package on the npm registry. These are the fields of its
// API that the kserve overlay may use, transcribed from KServe's API types
// (serving.kserve.io v1alpha1 ServingRuntime, v1beta1 InferenceService). Every
// Kubernetes type inside them (containers, volumes, tolerations) is the schema-checked
// one of kubernetes-models, so a misspelt field anywhere fails to type-check.

export interface ISupportedModelFormat {
  name: string;
  version?: string;
  autoSelect?: boolean;
  priority?: number;
}

export interface IServingRuntime {
  apiVersion: 'serving.kserve.io/v1alpha1';
  kind: 'ServingRuntime';
  metadata: IObjectMeta;
  spec: {
    supportedModelFormats?: ISupportedModelFormat[];
    multiModel?: boolean;
    disabled?: boolean;
    protocolVersions?: ('v1' | 'v2' | 'grpc-v1' | 'grpc-v2')[];
    containers: IContainer[];
    volumes?: IVolume[];
    nodeSelector?: Record<string, string>;
    affinity?: IAffinity;
    tolerations?: IToleration[];
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    imagePullSecrets?: ILocalObjectReference[];
  };
}

/** A core container's fields may be set inline on the model (KServe merges them into the runtime's). */
export interface IModelSpec extends Partial<IContainer> {
  modelFormat: { name: string; version?: string };
  runtime?: string;
  runtimeVersion?: string;
  protocolVersion?: 'v1' | 'v2' | 'grpc-v2';
  storageUri?: string;
}

export interface IPredictorSpec {
  model: IModelSpec;
  minReplicas?: number;
  maxReplicas?: number;
  scaleTarget?: number;
  scaleMetric?: 'cpu' | 'memory' | 'concurrency' | 'rps';
  containerConcurrency?: number;
  timeout?: number;
  canaryTrafficPercent?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deploymentStrategy?: IDeploymentStrategy;
  nodeSelector?: Record<string, string>;
  tolerations?: IToleration[];
  serviceAccountName?: string;
}

export interface IInferenceService {
  apiVersion: 'serving.kserve.io/v1beta1';
  kind: 'InferenceService';
  metadata: IObjectMeta;
  spec: { predictor: IPredictorSpec };
}
