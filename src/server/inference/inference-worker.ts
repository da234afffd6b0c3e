import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { openSession, type ModelSession } from './onnx-session.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './worker-protocol.js';

// One onnxruntime session per worker thread: session.run blocks its thread, so the
// event loop of the HTTP server never waits on inference.

const init = workerData as WorkerInit;
const port = parentPort;
if (!port) throw new Error('inference-worker must run in a worker thread');

function post(reply: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(reply, transfer);
}

/** The buffer itself when the view covers all of it (then it can move), else a copy. */
function own(view: Float32Array): ArrayBuffer {
  if (view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer) {
    return view.buffer;
  }
  return view.slice().buffer as ArrayBuffer;
}

let session: ModelSession;
try {
  const logs: string[] = [];
  session = await openSession(init.file, {
    providers: init.providers,
    intraOpThreads: init.intraOpThreads,
    log: (line) => logs.push(line),
  });
  post({ type: 'ready', provider: session.provider, logs });
} catch (error) {
  post({ type: 'failed', message: (error as Error).message });
  process.exit(1);
}

port.on('message', (message: WorkerRequest) => {
  if (message.type === 'close') {
    void session.close().finally(() => port.close());
    return;
  }
  void (async () => {
    const started = performance.now();
    try {
      const out = await session.run(new Float32Array(message.pixels), message.count, init.shape);
      const buffers = [own(out.logits), own(out.probabilities), own(out.adversarialScore)] as const;
      post(
        {
          type: 'result',
          id: message.id,
          logits: buffers[0],
          probabilities: buffers[1],
          adversarialScore: buffers[2],
          runSeconds: (performance.now() - started) / 1000,
        },
        [...new Set(buffers)],
      );
    } catch (error) {
      post({ type: 'error', id: message.id, message: (error as Error).message });
    }
  })();
});
