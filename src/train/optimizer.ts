import * as tf from '@tensorflow/tfjs';

export type OptimizerName = 'sgd' | 'adam';

export const OPTIMIZERS: readonly OptimizerName[] = ['sgd', 'adam'];

export interface OptimizerOptions {
  readonly name: OptimizerName;
  readonly lr: number;
  /** SGD only. */
  readonly momentum: number;
}

/** SGD is momentum SGD (Nesterov off, as in the AT literature); Adam has tfjs's defaults. */
export function createOptimizer(options: OptimizerOptions): tf.Optimizer {
  switch (options.name) {
    case 'sgd':
      return options.momentum > 0 ? tf.train.momentum(options.lr, options.momentum) : tf.train.sgd(options.lr);
    case 'adam':
      return tf.train.adam(options.lr);
  }
}

/**
 * Changes the learning rate of a live optimizer. tfjs's SGD family caches −lr in a tensor
 * (so it must go through setLearningRate); Adam reads its `learningRate` field every step.
 */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  const target = optimizer as unknown as { setLearningRate?: (lr: number) => void; learningRate?: number };
  if (typeof target.setLearningRate === 'function') {
    target.setLearningRate(lr);
  } else if (typeof target.learningRate === 'number') {
    target.learningRate = lr;
  } else {
    throw new Error(`cannot set the learning rate of a ${optimizer.getClassName()} optimizer`);
  }
}

/** Kernels of convs and dense layers decay; BN scales/shifts and biases do not. */
export function decays(stableName: string): boolean {
  return stableName.endsWith('/kernel');
}

/**
 * Adds L2 weight decay (wd · w) to the gradients of the decaying variables, in place of
 * the map's tensors (the old ones are disposed).
 */
export function addWeightDecay(grads: tf.NamedTensorMap, decaying: ReadonlyMap<string, tf.Variable>, wd: number): void {
  if (wd === 0) return;
  for (const [tfName, variable] of decaying) {
    const g = grads[tfName];
    if (g === undefined) continue;
    grads[tfName] = tf.tidy(() => tf.add(g, tf.mul(variable, wd)));
    g.dispose();
  }
}

/**
 * Disposes an optimizer completely. tfjs's MomentumOptimizer.dispose() does not call
 * SGDOptimizer's, so the cached −lr scalar would outlive it.
 */
export function disposeOptimizer(optimizer: tf.Optimizer): void {
  const cached = (optimizer as unknown as { c?: tf.Tensor }).c;
  optimizer.dispose();
  if (cached !== undefined && !cached.isDisposed) cached.dispose();
}
