import * as tf from '@tensorflow/tfjs';
import type { Model } from '../model/types.js';
import { TrainError } from './errors.js';

/**
 * Frozen variables (`train --freeze`): trained parts of a model that a run leaves as they
 * are, e.g. the main network of an AW-Net started from a static baseline, so that only the
 * router learns. Their gradients are still computed (the router's gradient flows through
 * them) but become zero before the optimiser applies them, weight decay included. The
 * optimiser keeps every variable in its list, so its slots stay where a checkpoint expects
 * them and a frozen run resumes like any other. BatchNorm running statistics are not
 * gradients: they keep following the batches.
 */

/** Whether `stableName` lies under `prefix`, a whole name or leading path parts (`main`, `router/signal`). */
export function underPrefix(stableName: string, prefix: string): boolean {
  const p = prefix.replace(/\/+$/, '');
  return stableName === p || stableName.startsWith(`${p}/`);
}

/** The tfjs names of the trainable variables under any of `prefixes`; a prefix that matches none is refused. */
export function frozenVariables(model: Model, prefixes: readonly string[]): Set<string> {
  const trainable = [...model.namedVariables()].filter(([, v]) => v.trainable).map(([name, v]) => ({ tfName: v.name, name }));
  const frozen = new Set<string>();
  for (const prefix of prefixes) {
    const hits = trainable.filter((v) => underPrefix(v.name, prefix));
    if (hits.length === 0) {
      const roots = [...new Set(trainable.map((v) => v.name.split('/').slice(0, 2).join('/')))].join(', ');
      throw new TrainError('TRAIN_BAD_OPTION', `--freeze ${prefix} matches no trainable variable of this model; its parts are ${roots}`);
    }
    for (const v of hits) frozen.add(v.tfName);
  }
  if (frozen.size === trainable.length) {
    throw new TrainError('TRAIN_BAD_OPTION', `--freeze ${prefixes.join(',')} freezes every trainable variable; nothing would train`);
  }
  return frozen;
}

/** Makes `optimizer` apply zero in place of the gradients of the `frozen` variables (by tfjs name). */
export function freezeInOptimizer(optimizer: tf.Optimizer, frozen: ReadonlySet<string>): void {
  if (frozen.size === 0) return;
  const apply = optimizer.applyGradients.bind(optimizer);
  optimizer.applyGradients = (grads: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[]): void => {
    const zeros: tf.Tensor[] = [];
    const zero = (name: string, g: tf.Tensor): tf.Tensor => {
      if (!frozen.has(name)) return g;
      const z = tf.zerosLike(g);
      zeros.push(z);
      return z;
    };
    try {
      if (Array.isArray(grads)) apply(grads.map((g) => ({ name: g.name, tensor: zero(g.name, g.tensor) })));
      else apply(Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, zero(name, g)])));
    } finally {
      tf.dispose(zeros);
    }
  };
}
