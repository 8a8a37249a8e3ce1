/**
 * tfjs reads models over HTTP by default; the hub reads them from disk only. A `file://` load router
 * turns a model.json and its weight shards into the artifacts tfjs wants, and `fetch` is replaced in
 * the inference worker by one that refuses: a model or library that tried to reach the network at run
 * time fails loudly instead of phoning home.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tfCore from '@tensorflow/tfjs-core';

interface ModelJson {
  modelTopology?: unknown;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest: { paths: string[]; weights: tfCore.io.WeightsManifestEntry[] }[];
  signature?: unknown;
  userDefinedMetadata?: tfCore.io.ModelArtifacts['userDefinedMetadata'];
  modelInitializer?: unknown;
}

export function loadLocalModelArtifacts(file: string): tfCore.io.ModelArtifacts {
  const json = JSON.parse(readFileSync(file, 'utf8')) as ModelJson;
  const weightSpecs: tfCore.io.WeightsManifestEntry[] = [];
  const shards: Buffer[] = [];
  for (const group of json.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const shard of group.paths) {
      const shardPath = path.resolve(path.dirname(file), shard);
      if (path.dirname(shardPath) !== path.dirname(file))
        throw new Error(`weights of ${file} point outside its folder: ${shard}`);
      shards.push(readFileSync(shardPath));
    }
  }
  const weights = Buffer.concat(shards);
  return {
    modelTopology: json.modelTopology as tfCore.io.ModelArtifacts['modelTopology'],
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    weightSpecs,
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    signature: json.signature as object | undefined,
    userDefinedMetadata: json.userDefinedMetadata,
    modelInitializer: json.modelInitializer as object | undefined,
  };
}

export function registerLocalFileRouter(tf: typeof tfCore): void {
  tf.io.registerLoadRouter((url) => {
    // tfjs types a router as always answering; at run time a null answer means "not mine".
    if (typeof url !== 'string' || !url.startsWith('file://')) return null as unknown as tfCore.io.IOHandler;
    const file = fileURLToPath(url);
    return { load: async () => loadLocalModelArtifacts(file) };
  });
}

export function refuseNetwork(): void {
  globalThis.fetch = async (input: unknown) => {
    const url = input instanceof Request ? input.url : String(input);
    throw new Error(`the inference service reads local files only; refused to fetch ${url}`);
  };
}
