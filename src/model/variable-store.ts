import * as tf from '@tensorflow/tfjs';

import { ModelError } from './errors.js';

let nextScope = 0;

/**
 * The variables of one model, by stable name (see architecture.ts for the scheme).
 * tfjs requires globally unique variable names, so each store prefixes its own scope
 * (`awnet<k>/`); the stable name is the part after the scope.
 */
export class VariableStore {
  readonly scope: string;
  private readonly byName = new Map<string, tf.Variable>();
  private readonly trainableList: tf.Variable[] = [];
  private disposed = false;

  constructor(scope?: string) {
    nextScope += 1;
    this.scope = scope ?? `awnet${nextScope}`;
  }

  create(name: string, shape: readonly number[], values: Float32Array, trainable: boolean): tf.Variable {
    if (this.byName.has(name)) throw new Error(`variable "${name}" created twice`);
    const variable = tf.tidy(() => tf.variable(tf.tensor(values, [...shape], 'float32'), trainable, `${this.scope}/${name}`));
    this.byName.set(name, variable);
    if (trainable) this.trainableList.push(variable);
    return variable;
  }

  named(): ReadonlyMap<string, tf.Variable> {
    this.assertLive();
    return this.byName;
  }

  trainable(): tf.Variable[] {
    this.assertLive();
    return [...this.trainableList];
  }

  /** The stable name of a tfjs variable name of this store, or null if it is not one. */
  stableName(tfName: string): string | null {
    const prefix = `${this.scope}/`;
    if (!tfName.startsWith(prefix)) return null;
    const name = tfName.slice(prefix.length);
    return this.byName.has(name) ? name : null;
  }

  assertLive(): void {
    if (this.disposed) throw new ModelError('MODEL_DISPOSED', `model ${this.scope} was disposed`);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.byName.values()) v.dispose();
  }
}
