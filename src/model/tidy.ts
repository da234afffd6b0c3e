import * as tf from '@tensorflow/tfjs';

/**
 * tf.tidy for functions returning plain objects of tensors (readonly arrays, nulls), which
 * tidy handles at run time but its `TensorContainer` type does not express.
 */
export function tidyObject<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}
