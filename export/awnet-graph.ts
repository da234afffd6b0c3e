import {
  architecture,
  signalFloor,
  type ArchitectureSpec,
  type ConvSpec,
  type DenseSpec,
  type NetworkSpec,
  type NormSpec,
} from '../src/model/architecture.js';
import type { ArchConfig } from '../src/model/types.js';
import { INPUT_NAME, OUTPUT, tensorShapes } from '../src/contract/model-contract.js';
import { ExportError } from './errors.js';
import { GraphBuilder } from './onnx-graph.js';
import { bnAffine, concatColumns, hwioToOihw, stackRows, Weights, type Affine } from './weights.js';


/** A feature map flowing through the graph, with its static C, H, W. */
interface FeatureMap {
  readonly name: string;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

/** TensorFlow 'same' padding: total = max((⌈n/s⌉ − 1)·s + k − n, 0), the odd pixel after. */
export function samePadding(size: number, kernel: number, stride: number): { before: number; after: number; out: number } {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  const before = Math.floor(total / 2);
  return { before, after: total - before, out };
}

class AwnetGraph {
  readonly g: GraphBuilder;
  private readonly spec: ArchitectureSpec;
  /** [N, 2] router type probabilities (column 0 = clean), when there is a router. */
  private typeProbs: string | null = null;
  /** [N, C_j] signal per dynamic conv, by signal index. */
  private omegas: string[] = [];

  constructor(
    private readonly config: ArchConfig,
    private readonly weights: Weights,
    graphName: string,
  ) {
    this.spec = architecture(config);
    this.g = new GraphBuilder(graphName);
  }

  build(): GraphBuilder {
    const { g, config } = this;
    const { channels } = config.input;
    const shapes = tensorShapes(config.input, config.numClasses);
    const pixels = g.input(INPUT_NAME, shapes[INPUT_NAME]);

    // Normalisation lives in the graph: clients send pixels in [0, 1].
    const mean = g.floats('norm_mean', config.normalization.mean, [1, channels, 1, 1]);
    // Multiplying by 1/std, as the tfjs model does, keeps the rounding identical.
    const invStd = g.floats('norm_inv_std', config.normalization.std.map((s) => 1 / s), [1, channels, 1, 1]);
    const normalized = g.op('Mul', [g.op('Sub', [pixels, mean]), invStd], {}, 'normalized');
    const x: FeatureMap = { name: normalized, ...config.input };

    let score: string;
    if (this.spec.router) {
      const pClean = this.router(x);
      const one = g.floats('one', [1], []);
      const adv = g.op('Sub', [one, pClean]);
      score = g.opNamed('Squeeze', [adv, g.int64s('axes', [1])], OUTPUT.adversarialScore);
    } else {
      // No router: the contract still requires a score, a constant 0 per sample.
      const batch = g.op('Slice', [g.op('Shape', [pixels]), g.int64s('starts', [0]), g.int64s('ends', [1])]);
      score = g.opNamed('ConstantOfShape', [batch], OUTPUT.adversarialScore, { value: { t: { dims: [1], float32: new Float32Array([0]) } } });
    }

    const features = this.network(this.spec.main, x, true);
    const last = features[features.length - 1] as FeatureMap;
    const pooled = g.op('Flatten', [g.op('GlobalAveragePool', [last.name])], { axis: 1 });
    const logits = this.dense(this.spec.classifier, pooled, OUTPUT.logits, true);
    const probabilities = g.opNamed('Softmax', [logits], OUTPUT.probabilities, { axis: 1 });

    g.output(logits, shapes[OUTPUT.logits]);
    g.output(probabilities, shapes[OUTPUT.probabilities]);
    g.output(score, shapes[OUTPUT.adversarialScore]);
    return g;
  }

  /** The router: ψ from every stage, type head → P(clean) [N, 1], and every signal head. */
  private router(x: FeatureMap): string {
    const { g } = this;
    const router = this.spec.router;
    if (!router) throw new Error('router() called for a model without a router');
    const stages = this.network(router.network, x, false);
    const pooled = stages.map((s) => g.op('Flatten', [g.op('GlobalAveragePool', [s.name])], { axis: 1 }));
    const psi = pooled.length === 1 ? (pooled[0] as string) : g.op('Concat', pooled, { axis: 1 }, 'psi');

    const typeLogits = this.dense(router.typeHead, psi, 'type_logits');
    this.typeProbs = g.op('Softmax', [typeLogits], { axis: 1 }, 'type_probs');
    const pClean = g.op('Slice', [this.typeProbs, g.int64s('starts', [0]), g.int64s('ends', [1]), g.int64s('axes', [1])], {}, 'p_clean');

    if (router.signalHeads.length > 0) this.signals(router.signalHeads, psi, router.featureSize);
    return pClean;
  }

  /** All signal heads as one Gemm, ω = (clip(tanh(z) + 1, f, 2 − f))^β with f = signalFloor(β), then one slice per dynamic conv. */
  private signals(heads: readonly DenseSpec[], psi: string, featureSize: number): void {
    const { g, weights } = this;
    const cols = heads.map((h) => h.outFeatures);
    const kernels = heads.map((h) => weights.get(`${h.name}/kernel`, [featureSize, h.outFeatures]));
    const biases = heads.map((h) => weights.get(`${h.name}/bias`, [h.outFeatures]));
    const total = cols.reduce((s, c) => s + c, 0);
    const w = g.floats('signal_kernel', concatColumns(kernels, featureSize, cols), [featureSize, total]);
    const b = g.floats('signal_bias', concatFlat(biases), [total]);
    const z = g.op('Gemm', [psi, w, b], {}, 'signal_z');
    const shifted = g.op('Add', [g.op('Tanh', [z]), g.floats('one', [1], [])]);
    const floor = signalFloor(this.config.beta);
    const clipped = g.op('Clip', [shifted, g.floats('signal_min', [floor], []), g.floats('signal_max', [2 - floor], [])]);
    const omega = g.op('Pow', [clipped, g.floats('beta', [this.config.beta], [])], {}, 'omega');
    let offset = 0;
    this.omegas = cols.map((c, j) => {
      const slice = g.op(
        'Slice',
        [omega, g.int64s('starts', [offset]), g.int64s('ends', [offset + c]), g.int64s('axes', [1])],
        {},
        `omega_${j}`,
      );
      offset += c;
      return slice;
    });
  }

  /** x @ kernel + bias; `exact` gives the output exactly the name `out` (a graph output). */
  private dense(spec: DenseSpec, x: string, out: string, exact = false): string {
    const kernel = this.weights.get(`${spec.name}/kernel`, [spec.inFeatures, spec.outFeatures]);
    const bias = this.weights.get(`${spec.name}/bias`, [spec.outFeatures]);
    const { g } = this;
    const inputs = [x, g.floats(`${spec.name}/kernel`, kernel, [spec.inFeatures, spec.outFeatures]), g.floats(`${spec.name}/bias`, bias, [spec.outFeatures])];
    return exact ? g.opNamed('Gemm', inputs, out) : g.op('Gemm', inputs, {}, out);
  }

  /** Runs a ResNet; returns the output of every stage (the last is the network's output). */
  private network(net: NetworkSpec, x: FeatureMap, isMain: boolean): FeatureMap[] {
    let h = this.relu(this.convNorm(net.stem.conv, net.stem.norm, x, isMain));
    const outs: FeatureMap[] = [];
    for (const stage of net.stages) {
      for (const block of stage.blocks) {
        const y1 = this.relu(this.convNorm(block.conv1, block.norm1, h, isMain));
        const y2 = this.convNorm(block.conv2, block.norm2, y1, isMain);
        const shortcut = block.shortcut ? this.convNorm(block.shortcut.conv, block.shortcut.norm, h, isMain) : h;
        h = this.relu({ ...y2, name: this.g.op('Add', [y2.name, shortcut.name]) });
      }
      outs.push(h);
    }
    return outs;
  }

  private relu(x: FeatureMap): FeatureMap {
    return { ...x, name: this.g.op('Relu', [x.name]) };
  }

  private conv(spec: ConvSpec, x: FeatureMap, fold?: Affine): FeatureMap {
    const { g } = this;
    const k = spec.kernelSize;
    const shape = [k, k, spec.inChannels, spec.outChannels];
    if (x.channels !== spec.inChannels) {
      throw new Error(`${spec.name}: input has ${x.channels} channels, conv expects ${spec.inChannels}`);
    }
    const kernel = this.weights.get(`${spec.name}/kernel`, shape);
    const w = g.floats(`${spec.name}/kernel`, hwioToOihw(kernel, shape, fold?.a), [spec.outChannels, spec.inChannels, k, k]);
    const inputs = [x.name, w];
    if (fold) inputs.push(g.floats(`${spec.name}/bias`, fold.b, [spec.outChannels]));
    const ph = samePadding(x.height, k, spec.stride);
    const pw = samePadding(x.width, k, spec.stride);
    const name = g.op('Conv', inputs, {
      kernel_shape: [k, k],
      strides: [spec.stride, spec.stride],
      pads: [ph.before, pw.before, ph.after, pw.after],
      dilations: [1, 1],
      group: 1,
    });
    return { name, channels: spec.outChannels, height: ph.out, width: pw.out };
  }

  /**
   * conv → (ω scaling) → normalisation. A static conv followed by a fixed BN folds into
   * one Conv with bias. Otherwise the per-sample parts become per-sample, per-channel
   * coefficients S [N, C] and B [N, C] (or [1, C]) applied as y = S·conv(x, K) + B, which
   * is exactly ω scaling followed by the BN, or by the MixBN mixed with P(clean):
   * S = ω·(p·a_clean + (1 − p)·a_adv), B = p·b_clean + (1 − p)·b_adv.
   */
  private convNorm(convSpec: ConvSpec, norm: NormSpec, x: FeatureMap, isMain: boolean): FeatureMap {
    const { g, weights } = this;
    const omega = isMain && convSpec.signal !== null ? this.omegas[convSpec.signal] : undefined;
    if (isMain && convSpec.signal !== null && omega === undefined) {
      throw new Error(`${convSpec.name}: no signal head ${convSpec.signal}`);
    }
    const mixByRouter = norm.kind === 'mixbn' && this.spec.features.inferenceMix === 'router';
    if (!mixByRouter) {
      // A single BN, or MixBN whose inference uses BN_clean alone.
      const affine = bnAffine(weights, norm.kind === 'mixbn' ? `${norm.name}/clean` : norm.name, norm.channels);
      if (!omega) return this.conv(convSpec, x, affine);
      const h = this.conv(convSpec, x, { a: affine.a, b: new Float32Array(norm.channels) });
      const scaled = g.op('Mul', [h.name, this.perSample(omega)]);
      const bias = g.floats(`${norm.name}/shift`, affine.b, [1, norm.channels, 1, 1]);
      return { ...h, name: g.op('Add', [scaled, bias]) };
    }
    if (!this.typeProbs) throw new Error(`${norm.name}: MixBN mixing needs the router's P(clean)`);
    const clean = bnAffine(weights, `${norm.name}/clean`, norm.channels);
    const adv = bnAffine(weights, `${norm.name}/adv`, norm.channels);
    // [p, 1 − p] @ [[clean]; [adv]]: the mixed coefficients of Eq. 14 per sample.
    const c = norm.channels;
    let scale = g.op('Gemm', [this.typeProbs, g.floats(`${norm.name}/scales`, stackRows([clean.a, adv.a]), [2, c])]);
    const shift = g.op('Gemm', [this.typeProbs, g.floats(`${norm.name}/shifts`, stackRows([clean.b, adv.b]), [2, c])]);
    if (omega) scale = g.op('Mul', [scale, omega]);
    const h = this.conv(convSpec, x);
    const y = g.op('Add', [g.op('Mul', [h.name, this.perSample(scale)]), this.perSample(shift)]);
    return { ...h, name: y };
  }

  /** [N, C] → [N, C, 1, 1], to broadcast over a feature map. */
  private perSample(coefficients: string): string {
    return this.g.op('Unsqueeze', [coefficients, this.g.int64s('axes', [2, 3])]);
  }

  /** Variables the graph never read, beyond those the variant legitimately ignores. */
  unexpectedUnused(): string[] {
    const ignoresAdv = this.spec.features.inferenceMix === 'clean';
    return this.weights.unused().filter((n) => !(ignoresAdv && /\/adv\//.test(n)));
  }
}

function concatFlat(arrays: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(arrays.reduce((s, a) => s + a.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

/**
 * The ONNX graph of a model in inference mode, from its configuration and variables.
 * Fails if the variables do not fit the configuration, or if any variable the variant
 * uses at inference was left out of the graph.
 */
export function buildModelGraph(config: ArchConfig, weights: Weights, graphName: string): GraphBuilder {
  const builder = new AwnetGraph(config, weights, graphName);
  const graph = builder.build();
  const unused = builder.unexpectedUnused();
  if (unused.length > 0) {
    throw new ExportError(
      'EXPORT_CHECKPOINT_INVALID',
      `the model holds variables its ${config.variant} configuration does not use: ${unused.slice(0, 5).join(', ')}${unused.length > 5 ? ` (+${unused.length - 5} more)` : ''}`,
    );
  }
  return graph;
}
