/**
 * One inference worker thread: loads human (and through it tfjs) once, then runs one picture at a time.
 * tfjs-backend-wasm is single-threaded in Node, so parallelism comes from several of these threads.
 * Backend order for `auto`: tfjs-node when installed (native, fastest), else wasm (SIMD), else cpu.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort } from 'node:worker_threads';
import type * as tfCore from '@tensorflow/tfjs-core';
import { refuseNetwork, registerLocalFileRouter } from './local-files.js';
import type { FaceReading, FromWorker, ModelOutput, ToWorker } from './messages.js';
import { type Backend, humanDist, type ModelName, nativeTensorflowAvailable, wasmDir } from './models.js';

const require = createRequire(import.meta.url);
const port = parentPort;
if (!port) throw new Error('worker.ts runs as a worker thread');

interface HumanResult {
  object: { label: string; score: number; boxRaw: [number, number, number, number] }[];
  face: {
    score: number;
    boxRaw: [number, number, number, number];
    rotation?: { angle: { yaw: number; pitch: number; roll: number } } | null;
  }[];
  gesture: { gesture: string }[];
}
interface HumanInstance {
  tf: typeof tfCore;
  load(): Promise<void>;
  detect(input: tfCore.Tensor, config: object): Promise<HumanResult & { error: string | null }>;
}

const DEG = 180 / Math.PI;
let human: HumanInstance | undefined;
let tf: typeof tfCore;

async function init(wanted: Backend | 'auto', models: ModelName[]): Promise<Backend> {
  refuseNetwork();
  const candidates: Backend[] =
    wanted === 'auto'
      ? [...(nativeTensorflowAvailable() ? (['tensorflow'] as const) : []), 'wasm', 'cpu']
      : [wanted];
  let lastError: unknown;
  for (const backend of candidates) {
    try {
      const bundle = backend === 'tensorflow' ? 'human.node.js' : 'human.node-wasm.js';
      const { Human } = require(path.join(humanDist(), bundle)) as {
        Human: new (config: object) => HumanInstance;
      };
      if (backend === 'cpu') require('@tensorflow/tfjs-backend-cpu');
      const instance = new Human({
        backend,
        wasmPath: wasmDir(),
        modelBasePath: `${pathToFileURL(path.join(humanDist(), '..', 'models')).href}/`,
        debug: false,
        warmup: 'none',
        cacheSensitivity: 0,
        filter: { enabled: false },
        body: { enabled: false },
        hand: { enabled: false },
        gesture: { enabled: true },
        face: {
          enabled: models.includes('face'),
          detector: { rotation: false, maxDetected: 1, minConfidence: 0.3 },
          mesh: { enabled: true },
          iris: { enabled: true },
          emotion: { enabled: false },
          description: { enabled: false },
          antispoof: { enabled: false },
          liveness: { enabled: false },
        },
        object: { enabled: models.includes('objects'), minConfidence: 0.3, maxDetected: 10 },
      });
      tf = instance.tf;
      registerLocalFileRouter(tf);
      await instance.load();
      if (tf.getBackend() !== backend)
        throw new Error(`backend ${backend} did not start (${tf.getBackend()})`);
      human = instance;
      return backend;
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

function faceReading(face: HumanResult['face'][number], gestures: string[]): FaceReading {
  const angle = face.rotation?.angle ?? { yaw: 0, pitch: 0, roll: 0 };
  const [x, y, w, h] = face.boxRaw;
  const blinking = gestures.some((g) => g.startsWith('blink'));
  return {
    score: face.score,
    yaw: angle.yaw * DEG,
    pitch: angle.pitch * DEG,
    roll: angle.roll * DEG,
    box: { x, y, w, h },
    eyesOpen: face.rotation ? !blinking : null,
  };
}

async function run(
  model: ModelName,
  width: number,
  height: number,
  pixels: Uint8Array,
): Promise<ModelOutput> {
  if (!human) throw new Error('the worker has not loaded its models');
  if (pixels.length !== width * height * 3)
    throw new Error(`a ${width}×${height} RGB picture needs ${width * height * 3} bytes`);
  const input = tf.tensor3d(pixels, [height, width, 3], 'int32');
  try {
    const result = await human.detect(input, {
      face: { enabled: model === 'face' },
      object: { enabled: model === 'objects' },
    });
    if (result.error) throw new Error(result.error);
    if (model === 'objects')
      return {
        model,
        objects: result.object.map((o) => ({
          label: o.label,
          score: o.score,
          box: { x: o.boxRaw[0], y: o.boxRaw[1], w: o.boxRaw[2], h: o.boxRaw[3] },
        })),
      };
    const gestures = result.gesture.map((g) => g.gesture);
    return { model, faces: result.face.map((face) => faceReading(face, gestures)) };
  } finally {
    input.dispose();
  }
}

const send = (message: FromWorker) => port.postMessage(message);

port.on('message', (message: ToWorker) => {
  if (message.type === 'init') {
    const started = performance.now();
    init(message.backend, message.models).then(
      (backend) => send({ type: 'ready', backend, loadMs: performance.now() - started }),
      (error: Error) => send({ type: 'init-failed', message: error.message }),
    );
    return;
  }
  const started = performance.now();
  run(message.model, message.width, message.height, message.pixels).then(
    (output) => send({ type: 'result', id: message.id, ms: performance.now() - started, output }),
    (error: Error) =>
      send({ type: 'failed', id: message.id, ms: performance.now() - started, message: error.message }),
  );
});
