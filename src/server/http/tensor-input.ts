import { Errors } from '../errors.js';
import type { PixelShape } from '../image.js';
import { INPUT_NAME } from '../../contract/model-contract.js';

export interface TensorInput {
  readonly name: string;
  readonly shape: readonly number[];
  readonly datatype: string;
  readonly data: readonly unknown[];
}

/** Flattens row-major data given flat or nested, refusing anything but finite numbers. */
function flatten(data: readonly unknown[], name: string): number[] {
  const out: number[] = [];
  const visit = (value: unknown, depth: number): void => {
    if (Array.isArray(value)) {
      // Nesting deeper than the tensor's rank is malformed (and must not exhaust the stack).
      if (depth > 4) throw new Errors.INVALID_REQUEST(`input '${name}' data is nested ${depth} levels deep; valid: flat or up to 4 levels`);
      for (const v of value) visit(v, depth + 1);
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      out.push(value);
    } else {
      throw new Errors.INVALID_REQUEST(`input '${name}' holds ${JSON.stringify(value)} at position ${out.length}; valid: finite numbers`);
    }
  };
  visit(data, 0);
  return out;
}

/** Pixel values the models take, as the exporter scales them; anything else is a client bug, never scored. */
export const INPUT_RANGE = { min: 0, max: 1 } as const;

/** Checks an OIP infer request's inputs against the model contract; one C×H×W array per image. */
export function parseInferInput(inputs: readonly TensorInput[], shape: PixelShape): Float32Array[] {
  for (const input of inputs) {
    if (input.name !== INPUT_NAME) throw new Errors.UNKNOWN_TENSOR('Input', input.name, INPUT_NAME);
  }
  if (inputs.length !== 1) throw new Errors.INVALID_REQUEST(`input '${INPUT_NAME}' is given ${inputs.length} times; give it once`);
  const input = inputs[0]!;
  if (input.datatype !== 'FP32') throw new Errors.WRONG_DATATYPE(input.name, input.datatype);
  const { channels, height, width } = shape;
  const dims = input.shape;
  const valid = `[N, ${channels}, ${height}, ${width}] with N >= 1`;
  if (dims.length !== 4 || dims[0]! < 1 || dims[1] !== channels || dims[2] !== height || dims[3] !== width) {
    throw new Errors.WRONG_SHAPE(input.name, `[${dims.join(', ')}]`, valid);
  }
  const count = dims[0]!;
  const size = channels * height * width;
  const values = flatten(input.data, input.name);
  if (values.length !== count * size) {
    throw new Errors.WRONG_LENGTH(input.name, values.length, count * size, `shape [${dims.join(', ')}]`);
  }
  const outside = values.findIndex((v) => v < INPUT_RANGE.min || v > INPUT_RANGE.max);
  if (outside >= 0) throw new Errors.INPUT_OUT_OF_RANGE(input.name, values[outside]!, outside, `[${INPUT_RANGE.min}, ${INPUT_RANGE.max}]`);
  return Array.from({ length: count }, (_, i) => Float32Array.from(values.slice(i * size, (i + 1) * size)));
}
