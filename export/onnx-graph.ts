import onnxProto from 'onnx-proto';

// onnx-proto is CommonJS; its namespace is only reachable through the default export.
export const onnx = onnxProto.onnx;
export type ModelProto = onnxProto.onnx.ModelProto;
export type ValueInfo = onnxProto.onnx.IValueInfoProto;

/** IR version 8 is the one ONNX 1.12 pairs with opset 17. */
export const IR_VERSION = 8;
export const DEFAULT_OPSET = 17;

/** A dimension: a fixed size, or a symbolic name for a dynamic one (e.g. the batch). */
export type Dim = number | string;

/**
 * Attribute values. Plain numbers are INT and number arrays INTS because integer
 * attributes (axis, strides, pads…) are by far the most common; floats are wrapped.
 */
export type AttrValue =
  | number
  | readonly number[]
  | string
  | { readonly f: number }
  | { readonly fs: readonly number[] }
  | { readonly t: TensorInit };

export interface TensorInit {
  readonly dims: readonly number[];
  readonly float32?: Float32Array;
  readonly int64?: readonly number[];
}

type ElemType = 'float32' | 'int64';

const DATA_TYPE: Record<ElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
};

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function tensorProto(name: string, init: TensorInit): onnxProto.onnx.ITensorProto {
  const count = product(init.dims);
  if (init.float32) {
    if (init.float32.length !== count) {
      throw new Error(`tensor ${name}: ${init.float32.length} values for dims [${init.dims.join(', ')}] (${count})`);
    }
    // raw_data is little-endian; copy so the proto does not alias a caller's buffer.
    const bytes = new Uint8Array(count * 4);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < count; i++) view.setFloat32(i * 4, init.float32[i] as number, true);
    return { name, dims: [...init.dims], dataType: DATA_TYPE.float32, rawData: bytes };
  }
  if (init.int64) {
    if (init.int64.length !== count) {
      throw new Error(`tensor ${name}: ${init.int64.length} values for dims [${init.dims.join(', ')}] (${count})`);
    }
    for (const v of init.int64) {
      if (!Number.isSafeInteger(v)) throw new Error(`tensor ${name}: ${v} is not a safe integer`);
    }
    return { name, dims: [...init.dims], dataType: DATA_TYPE.int64, int64Data: [...init.int64] };
  }
  throw new Error(`tensor ${name}: neither float32 nor int64 data given`);
}

function attributeProto(name: string, value: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`attribute ${name}: ${value} is not an integer; wrap floats as { f }`);
    return { name, type: T.INT, i: value };
  }
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) {
    const ints = value as readonly number[];
    for (const v of ints) {
      if (!Number.isSafeInteger(v)) throw new Error(`attribute ${name}: ${v} is not an integer; wrap floats as { fs }`);
    }
    return { name, type: T.INTS, ints: [...ints] };
  }
  if ('f' in value) return { name, type: T.FLOAT, f: value.f };
  if ('fs' in value) return { name, type: T.FLOATS, floats: [...value.fs] };
  if ('t' in value) return { name, type: T.TENSOR, t: tensorProto(`${name}_value`, value.t) };
  throw new Error(`attribute ${name}: unsupported value`);
}

function valueInfo(name: string, type: ElemType, dims: readonly Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DATA_TYPE[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export interface ModelOptions {
  readonly opset?: number;
  readonly producerName?: string;
  readonly producerVersion?: string;
  readonly docString?: string;
  /** metadata_props entries. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * A small builder for one ONNX graph over standard-domain operators. It checks as it
 * goes that every node input already exists, so a wiring mistake fails at export time
 * with the tensor's name rather than inside onnxruntime.
 */
export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly known = new Set<string>();
  private readonly ops = new Set<string>();
  private readonly counters = new Map<string, number>();

  constructor(readonly name: string) {}

  /** A name not used yet, derived from `prefix`. */
  fresh(prefix: string): string {
    let n = this.counters.get(prefix) ?? 0;
    let candidate = n === 0 ? prefix : `${prefix}_${n}`;
    while (this.known.has(candidate)) candidate = `${prefix}_${++n}`;
    this.counters.set(prefix, n + 1);
    return candidate;
  }

  private define(name: string): void {
    if (this.known.has(name)) throw new Error(`tensor name ${name} is defined twice`);
    this.known.add(name);
  }

  input(name: string, dims: readonly Dim[], type: ElemType = 'float32'): string {
    this.define(name);
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** Declares `name` (an existing tensor) as a graph output. */
  output(name: string, dims: readonly Dim[], type: ElemType = 'float32'): void {
    if (!this.known.has(name)) throw new Error(`output ${name} is not produced by the graph`);
    this.outputs.push(valueInfo(name, type, dims));
  }

  /** A float32 initializer; `prefix` becomes a unique name. */
  floats(prefix: string, data: Float32Array | readonly number[], dims: readonly number[]): string {
    const name = this.fresh(prefix);
    this.define(name);
    const float32 = data instanceof Float32Array ? data : Float32Array.from(data);
    this.initializers.push(tensorProto(name, { dims, float32 }));
    return name;
  }

  /** An int64 initializer (shapes, axes, slice bounds). */
  int64s(prefix: string, data: readonly number[], dims: readonly number[] = [data.length]): string {
    const name = this.fresh(prefix);
    this.define(name);
    this.initializers.push(tensorProto(name, { dims, int64: data }));
    return name;
  }

  /** Adds a node and returns its output names. `outputs` are prefixes made unique. */
  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attrs: Readonly<Record<string, AttrValue>> = {},
  ): string[] {
    return this.addNode(opType, inputs, outputs.map((o) => this.fresh(o)), attrs);
  }

  /** A node with one output; returns that output's name. */
  op(opType: string, inputs: readonly string[], attrs: Readonly<Record<string, AttrValue>> = {}, out?: string): string {
    return this.node(opType, inputs, [out ?? opType.toLowerCase()], attrs)[0] as string;
  }

  /** A node whose single output gets exactly `name` (graph outputs are named by the contract). */
  opNamed(opType: string, inputs: readonly string[], name: string, attrs: Readonly<Record<string, AttrValue>> = {}): string {
    return this.addNode(opType, inputs, [name], attrs)[0] as string;
  }

  private addNode(
    opType: string,
    inputs: readonly string[],
    outs: readonly string[],
    attrs: Readonly<Record<string, AttrValue>>,
  ): string[] {
    for (const input of inputs) {
      // An empty name marks an omitted optional input, as ONNX allows.
      if (input !== '' && !this.known.has(input)) {
        throw new Error(`${opType} node: input ${input} is not defined yet`);
      }
    }
    for (const o of outs) this.define(o);
    this.nodes.push({
      opType,
      name: `${opType}_${this.nodes.length}`,
      input: [...inputs],
      output: [...outs],
      attribute: Object.entries(attrs).map(([k, v]) => attributeProto(k, v)),
    });
    this.ops.add(opType);
    return [...outs];
  }

  /** The operator types used so far. */
  opTypes(): string[] {
    return [...this.ops].sort();
  }

  toModel(options: ModelOptions = {}): ModelProto {
    if (this.outputs.length === 0) throw new Error('graph has no outputs');
    return onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: options.opset ?? DEFAULT_OPSET }],
      producerName: options.producerName ?? 'awnet-serve',
      producerVersion: options.producerVersion ?? '',
      docString: options.docString ?? '',
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
      metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    });
  }
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

export function decodeModel(bytes: Uint8Array): ModelProto {
  return onnx.ModelProto.decode(bytes);
}
