import * as tf from '@tensorflow/tfjs';
import { asTensor, callOriginal, input, type Attrs, type Inputs, type KernelFactory } from './kernel-utils.js';

/** The operand with its last two axes swapped, as a new tensor the caller disposes. */
function transposeLastTwo(info: tf.TensorInfo): tf.Tensor {
  const { tensor, owned } = asTensor(info);
  const rank = tensor.shape.length;
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
  const t = tf.transpose(tensor, perm);
  if (owned) tensor.dispose();
  return t;
}

/**
 * BatchMatMul and _FusedMatMul: the backend runs matMul with transposeA/transposeB
 * ~10× slower than without (dense-layer gradients use both). Operands flagged for
 * transposition are transposed explicitly (a cheap copy) and the original kernel runs
 * on its fast path.
 */
export const untransposedMatMul: KernelFactory = (original) => (args) => {
  const attrs = args.attrs as Attrs;
  const ta = attrs['transposeA'] === true;
  const tb = attrs['transposeB'] === true;
  if (!ta && !tb) return callOriginal(original, args);
  const temps: tf.Tensor[] = [];
  try {
    const inputs: Inputs = { ...(args.inputs as Inputs) };
    if (ta) temps.push((inputs['a'] = transposeLastTwo(input(args.inputs, 'a'))) as tf.Tensor);
    if (tb) temps.push((inputs['b'] = transposeLastTwo(input(args.inputs, 'b'))) as tf.Tensor);
    return callOriginal(original, { ...args, inputs, attrs: { ...attrs, transposeA: false, transposeB: false } });
  } finally {
    tf.dispose(temps);
  }
};
