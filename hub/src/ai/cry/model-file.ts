/**
 * A cry model on disk: one self-describing JSON file (format tag, the feature spec it expects, the
 * normalisation, the layers, the threshold and the figures it scored), carrying the sha256 of its own
 * content so a file edited by hand or damaged in transit is refused even where no database row vouches
 * for it (an import). The database row adds the sha256 of the whole file as written.
 *
 * Format 2 adds the range of each feature over the training windows (scores clamp to it) and the second
 * feature spec; files of format 1 are still read and score as they always did.
 *
 * Nothing here holds secrets: the checksum catches damage and careless edits, not a forger who recomputes it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '../../http/errors.js';
import {
  FEATURE_SPEC,
  FEATURE_SPEC_V1,
  type FeatureSpec,
  type Figures,
  type TrainedClassifier,
} from './classifier.js';

export const MODEL_FORMAT = 'hearth-cry-model/2';
const MODEL_FORMAT_V1 = 'hearth-cry-model/1';
/** The features each format's models were trained on. */
const SPEC_OF = new Map<unknown, FeatureSpec>([
  [MODEL_FORMAT, FEATURE_SPEC],
  [MODEL_FORMAT_V1, FEATURE_SPEC_V1],
]);
/** Far above any model this hub trains (~10 kB logistic, ~40 kB with a hidden layer). */
export const MAX_MODEL_BYTES = 512 * 1024;

const finite = z.number().refine(Number.isFinite, 'not a finite number');
const count = z.number().int().nonnegative();
const ratio = z.number().min(0).max(1).nullable();
const figuresSchema = z
  .object({
    threshold: finite,
    positives: count,
    negatives: count,
    truePositives: count,
    falsePositives: count,
    trueNegatives: count,
    falseNegatives: count,
    precision: ratio,
    recall: ratio,
    accuracy: ratio,
  })
  .strict();

const layerSchema = z
  .object({
    weights: z.array(z.array(finite).min(1)).min(1),
    bias: z.array(finite).min(1),
    activation: z.enum(['relu', 'sigmoid']),
  })
  .strict();

const normalisationV1 = z
  .object({ mean: z.array(finite), std: z.array(finite.refine((v) => v > 0, 'not positive')) })
  .strict();

const bodySchema = z
  .object({
    format: z.literal(MODEL_FORMAT),
    kind: z.string().min(1).max(64),
    features: z.record(z.string(), z.union([z.string(), z.number()])),
    normalisation: normalisationV1.extend({ min: z.array(finite), max: z.array(finite) }).strict(),
    layers: z.array(layerSchema).min(1).max(4),
    threshold: z.number().min(0).max(1),
    trainedAt: z.number().int().nonnegative(),
    trainMs: count,
    clips: count,
    positives: count,
    negatives: count,
    /** Held-out figures of exactly these weights. */
    metrics: z
      .object({
        heldOut: figuresSchema,
        training: figuresSchema,
        trainingWindows: count,
        loss: finite,
      })
      .strict(),
  })
  .strict();

const checksum = { contentSha256: z.string().regex(/^[0-9a-f]{64}$/) };
const fileSchema = z.discriminatedUnion('format', [
  bodySchema.extend(checksum).strict(),
  bodySchema
    .extend({ format: z.literal(MODEL_FORMAT_V1), normalisation: normalisationV1, ...checksum })
    .strict(),
]);

export type ModelBody = z.infer<typeof bodySchema>;
export type ModelFile = z.infer<typeof fileSchema>;
export type CryMetrics = ModelBody['metrics'];
export type { Figures };

/** JSON with object keys sorted at every level: the same model always hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

export const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

export function serializeModel(body: ModelBody): Buffer {
  const parsed = bodySchema.parse(body);
  return Buffer.from(`${JSON.stringify({ ...parsed, contentSha256: sha256(canonical(parsed)) }, null, 1)}\n`);
}

const invalid = (reason: string) =>
  new AppError(422, 'model_invalid', `The model file is not usable: ${reason}.`, { reason });

/**
 * Checks everything a score depends on before anything uses it: JSON, format, every number finite, the
 * feature spec this hub computes, layer shapes that chain from the feature count to one output, and the
 * content checksum. Throws 422 `model_invalid` with the first reason found.
 */
export function parseModelFile(bytes: Uint8Array, expectedSha256?: string): ModelFile {
  if (bytes.byteLength === 0) throw invalid('the file is empty');
  if (bytes.byteLength > MAX_MODEL_BYTES) throw invalid(`larger than ${MAX_MODEL_BYTES} bytes`);
  if (expectedSha256 !== undefined && sha256(bytes) !== expectedSha256)
    throw invalid('its sha256 is not the one recorded when it was stored (changed or damaged on disk)');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw invalid(`not JSON (truncated?): ${(error as Error).message}`);
  }
  const format = (json as { format?: unknown } | null)?.format;
  const spec = SPEC_OF.get(format);
  if (!spec)
    throw invalid(
      `format is ${JSON.stringify(format)}, expected "${MODEL_FORMAT}" (or "${MODEL_FORMAT_V1}")`,
    );
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(`${issue.path.join('.') || 'file'}: ${issue.message}`);
  }
  const model = parsed.data;
  const { contentSha256, ...body } = model;
  if (sha256(canonical(body)) !== contentSha256)
    throw invalid('its content does not match its checksum (edited or damaged)');
  if (canonical(model.features) !== canonical(spec))
    throw invalid(
      `it expects features ${canonical(model.features)}, this hub computes ${canonical(spec)} for ${model.format}`,
    );
  let width: number = spec.dims;
  const { mean, std } = model.normalisation;
  const range = 'min' in model.normalisation ? model.normalisation : null;
  if ([mean, std, range?.min ?? mean, range?.max ?? mean].some((values) => values.length !== width))
    throw invalid(`the normalisation does not have ${width} values of each kind, one per feature`);
  if (range?.min.some((low, i) => low > range.max[i]!)) throw invalid('a feature range ends below its start');
  for (const [index, layer] of model.layers.entries()) {
    const outputs = layer.bias.length;
    if (layer.weights.length !== width || layer.weights.some((row) => row.length !== outputs))
      throw invalid(`layer ${index} is not ${width}×${outputs}`);
    const last = index === model.layers.length - 1;
    if (last !== (layer.activation === 'sigmoid')) throw invalid(`layer ${index} has the wrong activation`);
    width = outputs;
  }
  if (width !== 1) throw invalid(`the last layer gives ${width} outputs, not 1`);
  return model;
}

export function classifierOf(model: ModelFile): TrainedClassifier {
  return {
    kind: model.kind,
    normalisation: model.normalisation,
    layers: model.layers,
    threshold: model.threshold,
  };
}

/** Temporary file beside the target, fsync, rename, fsync of the folder: a crash leaves the old file or the new one. */
export async function writeFileAtomic(target: string, bytes: Uint8Array): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
  const temp = `${target}.partial-${randomBytes(4).toString('hex')}`;
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  const dir = await open(path.dirname(target), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
