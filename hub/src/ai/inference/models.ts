/**
 * The models the inference service can run, all from files inside installed npm packages: nothing is
 * fetched at run time. `@vladmandic/human` ships its weights in `models/` (centernet for objects,
 * blazeface + facemesh + iris for faces); its version is the model version shown in the health view.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

export const MODEL_NAMES = ['objects', 'face'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export const BACKENDS = ['tensorflow', 'wasm', 'cpu'] as const;
export type Backend = (typeof BACKENDS)[number];

export interface ModelInfo {
  name: ModelName;
  /** `<package>@<version>/<file>#<first 12 hex of the weights' sha256>`: changes when the weights do. */
  version: string;
  /** Absolute paths of the model's JSON and weight files. */
  files: string[];
  description: string;
}

/** human's `dist/` folder. Its package `exports` map names no subpath Node accepts, so files go by path. */
export function humanDist(): string {
  return path.dirname(require.resolve('@vladmandic/human'));
}

export function humanVersion(): string {
  return JSON.parse(readFileSync(path.join(humanDist(), '..', 'package.json'), 'utf8')).version as string;
}

/** tfjs-backend-wasm's `dist/` with its `.wasm` binaries; given to the backend as a local path. */
export function wasmDir(): string {
  return `${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}${path.sep}`;
}

/** `@tensorflow/tfjs-node` is used when present (a household may install it); it is never a dependency. */
export function nativeTensorflowAvailable(): boolean {
  try {
    require.resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

const FILES: Record<ModelName, { files: string[]; description: string }> = {
  objects: {
    files: ['centernet.json', 'centernet.bin'],
    description: 'CenterNet (COCO objects): person, pet (cat, dog), vehicle',
  },
  face: {
    files: ['blazeface.json', 'blazeface.bin', 'facemesh.json', 'facemesh.bin', 'iris.json', 'iris.bin'],
    description: 'BlazeFace + FaceMesh + Iris: face box, yaw / pitch / roll, eyes',
  },
};

let cached: ModelInfo[] | undefined;

export function modelRegistry(): ModelInfo[] {
  if (cached) return cached;
  const modelsDir = path.join(humanDist(), '..', 'models');
  const version = humanVersion();
  cached = MODEL_NAMES.map((name) => {
    const files = FILES[name].files.map((file) => path.join(modelsDir, file));
    const hash = createHash('sha256');
    for (const file of files) hash.update(readFileSync(file));
    return {
      name,
      version: `human@${version}/${FILES[name].files[0]}#${hash.digest('hex').slice(0, 12)}`,
      files,
      description: FILES[name].description,
    };
  });
  return cached;
}
