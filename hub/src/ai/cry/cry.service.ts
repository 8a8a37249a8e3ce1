/**
 * Each subject's cry clips and trained classifiers. Members label short clips "crying" / "not crying";
 * unlabelled ones are deleted after `unlabelledHours`, labelled ones stay as the training set. Training makes
 * a new numbered version from them (every fourth clip of each label, in recording order, is held out and
 * scores the figures), stored as a model file under `models/cry/<subject>/v<N>.json` and a `cry_models` row.
 *
 * A trained or imported version is NOT activated by itself: the household reads its figures and activates
 * it, so a worse model never silently replaces a working one. With no active version the subject is
 * scored by the default detector (audio/cry-detector.ts). Rollback activates the newest version older than
 * the active one, or none (the default detector) when there is none.
 */
import { randomUUID } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { and, asc, count, desc, eq, inArray, isNotNull, isNull, lt, max, notInArray } from 'drizzle-orm';
import { subjectDevices, subjects } from '../../care/care.schema.js';
import type { CareService } from '../../care/care.service.js';
import type { Clock } from '../../clock.js';
import type { Db } from '../../db/client.js';
import { AppError, notFound } from '../../http/errors.js';
import type { Logger } from '../../log/logger.js';
import { analyseCry, cryDetectorOptionsSchema } from '../audio/cry-detector.js';
import {
  FEATURE_SPEC,
  figures,
  streamProbability,
  type TrainedClassifier,
  type TrainOptions,
  trainClassifier,
  windowFeatures,
} from './classifier.js';
import { type CryLabel, cryClips, cryModels } from './cry.schema.js';
import {
  type CryMetrics,
  classifierOf,
  MODEL_FORMAT,
  type ModelBody,
  parseModelFile,
  serializeModel,
  sha256,
  writeFileAtomic,
} from './model-file.js';
import { encodeWav, parseWav } from './wav.js';

const HOUR = 3_600_000;

export type CryClip = typeof cryClips.$inferSelect & { expiresAt: number | null };
export type CryVersion = Omit<typeof cryModels.$inferSelect, 'metrics'> & { metrics: CryMetrics };

/** Where the default detector's hysteresis switches on. */
const DEFAULT_THRESHOLD = cryDetectorOptionsSchema.parse({}).onAbove;

export interface CryScore {
  probability: number;
  /** The scorer's own cut: the model's threshold, or the default detector's switch-on level. */
  threshold: number;
  crying: boolean;
  /** Which scored it: the subject's active version, or the default detector. */
  source: 'model' | 'default';
  version: number | null;
  /** The active model could not be loaded (the default detector scored instead). */
  error?: string;
}

export function createCryService(deps: {
  db: Db;
  clock: Clock;
  dataDir: string;
  care: Pick<CareService, 'subject'>;
  log?: Logger;
  /** Hours an unlabelled clip is kept (default 48). */
  unlabelledHours?: number;
  /** Fewest labelled clips per label a training needs (default 4: three to learn from, one held out). */
  minClipsPerLabel?: number;
  /** Versions kept besides the active one (default 10). */
  keepVersions?: number;
  train?: Partial<TrainOptions>;
}) {
  const { db, clock } = deps;
  const unlabelledMs = (deps.unlabelledHours ?? 48) * HOUR;
  const minPerLabel = deps.minClipsPerLabel ?? 4;
  const keepVersions = deps.keepVersions ?? 10;
  const clipsDir = path.join(deps.dataDir, 'cry-clips');
  const modelsDir = path.join(deps.dataDir, 'models', 'cry');
  /** Loaded active models by row id and file hash: a re-trained or re-activated version is loaded again. */
  const loaded = new Map<number, { key: string; model: TrainedClassifier }>();
  /** One training or import per subject at a time (they number versions). */
  const busy = new Set<number>();
  /**
   * Features of kept clips by file (a clip's audio never changes): retraining after a few new labels only
   * computes theirs. ~13 kB a 10 s clip; the oldest entries go first.
   */
  const featureCache = new Map<string, number[][]>();
  async function clipFeatures(file: string): Promise<number[][]> {
    const cached = featureCache.get(file);
    if (cached) return cached;
    const features = windowFeatures(parseWav(await readFile(path.join(clipsDir, file))).samples);
    if (featureCache.size >= 500) featureCache.delete(featureCache.keys().next().value!);
    featureCache.set(file, features);
    // Features are the slow part (tens of ms a clip): let requests through between clips.
    await new Promise<void>((resolve) => setImmediate(resolve));
    return features;
  }

  const withExpiry = (row: typeof cryClips.$inferSelect): CryClip => ({
    ...row,
    expiresAt: row.label ? null : row.createdAt + unlabelledMs,
  });
  const asVersion = (row: typeof cryModels.$inferSelect): CryVersion => ({
    ...row,
    metrics: row.metrics as CryMetrics,
  });

  function clipRow(subjectId: number, clipId: number) {
    const row = db
      .select()
      .from(cryClips)
      .where(and(eq(cryClips.id, clipId), eq(cryClips.subjectId, subjectId)))
      .get();
    if (!row) throw notFound('Clip');
    return row;
  }

  function versionRow(subjectId: number, version: number) {
    const row = db
      .select()
      .from(cryModels)
      .where(and(eq(cryModels.subjectId, subjectId), eq(cryModels.version, version)))
      .get();
    if (!row) throw notFound('Cry model version');
    return row;
  }

  const activeRow = (subjectId: number) =>
    db
      .select()
      .from(cryModels)
      .where(and(eq(cryModels.subjectId, subjectId), eq(cryModels.active, true)))
      .get();

  function setActive(subjectId: number, version: number | null) {
    db.transaction(() => {
      db.update(cryModels).set({ active: false }).where(eq(cryModels.subjectId, subjectId)).run();
      if (version !== null)
        db.update(cryModels)
          .set({ active: true })
          .where(and(eq(cryModels.subjectId, subjectId), eq(cryModels.version, version)))
          .run();
    });
    deps.log?.info({ subject: subjectId, version }, 'cry model activated');
  }

  /**
   * Reads and checks a version's file against its row; 422 `model_invalid` when it is not usable. `fresh`
   * reads the disk even when the model is loaded already (activation vouches for the file as it is now).
   */
  async function loadVersion(row: typeof cryModels.$inferSelect, fresh = false): Promise<TrainedClassifier> {
    const cached = loaded.get(row.id);
    if (cached?.key === row.sha256 && !fresh) return cached.model;
    let bytes: Buffer;
    try {
      bytes = await readFile(path.join(modelsDir, row.file));
    } catch (error) {
      throw new AppError(422, 'model_invalid', `The model file of version ${row.version} cannot be read.`, {
        reason: (error as NodeJS.ErrnoException).code ?? String(error),
      });
    }
    const model = classifierOf(parseModelFile(bytes, row.sha256));
    loaded.set(row.id, { key: row.sha256, model });
    return model;
  }

  function exclusive<T>(subjectId: number, work: () => Promise<T>): Promise<T> {
    if (busy.has(subjectId))
      throw new AppError(
        409,
        'busy',
        'A model for this subject is being trained or imported; try again shortly.',
      );
    busy.add(subjectId);
    return work().finally(() => busy.delete(subjectId));
  }

  /** Writes the file of the next version, then its row; the row never names a file that is not in place. */
  async function store(
    subjectId: number,
    bytes: Buffer,
    /** Either format: an import may be a file of the first. */
    model: Omit<ModelBody, 'format' | 'normalisation'>,
    extra: { trainedBy?: number | undefined; note?: string | undefined },
  ): Promise<CryVersion> {
    const latest =
      db
        .select({ version: max(cryModels.version) })
        .from(cryModels)
        .where(eq(cryModels.subjectId, subjectId))
        .get()?.version ?? 0;
    const version = latest + 1;
    const file = `${subjectId}/v${version}.json`;
    const target = path.join(modelsDir, file);
    await writeFileAtomic(target, bytes);
    try {
      const row = db
        .insert(cryModels)
        .values({
          subjectId,
          version,
          active: false,
          kind: model.kind,
          trainedAt: model.trainedAt,
          trainedBy: extra.trainedBy ?? null,
          clips: model.clips,
          positives: model.positives,
          negatives: model.negatives,
          metrics: model.metrics,
          file,
          sha256: sha256(bytes),
          bytes: bytes.byteLength,
          trainMs: model.trainMs,
          note: extra.note ?? null,
        })
        .returning()
        .get();
      await service.prune(subjectId);
      return asVersion(row);
    } catch (error) {
      await rm(target, { force: true });
      throw error;
    }
  }

  const service = {
    // ------------------------------------------------------------------ clips

    /** Keeps a WAV clip (16 kHz mono s16le, 1–10 s) with what the subject's current detector says of it. */
    async addClip(
      subjectId: number,
      bytes: Uint8Array,
      meta: { recordedAt?: number | undefined; deviceId?: number | undefined } = {},
    ): Promise<CryClip> {
      const subject = deps.care.subject(subjectId);
      if (meta.deviceId !== undefined && !subject.deviceIds.includes(meta.deviceId))
        throw new AppError(400, 'invalid_request', 'That node does not watch this subject.');
      const clip = parseWav(bytes);
      const { probability } = await service.probability(subjectId, clip.samples);
      const wav = encodeWav(clip.pcm);
      const file = `${subjectId}/${randomUUID()}.wav`;
      const target = path.join(clipsDir, file);
      await writeFileAtomic(target, wav);
      try {
        const now = clock.now();
        const row = db
          .insert(cryClips)
          .values({
            subjectId,
            deviceId: meta.deviceId ?? null,
            recordedAt: meta.recordedAt ?? now,
            durationMs: clip.durationMs,
            file,
            bytes: wav.byteLength,
            probability: Number(probability.toFixed(4)),
            createdAt: now,
          })
          .returning()
          .get();
        return withExpiry(row);
      } catch (error) {
        await rm(target, { force: true });
        throw error;
      }
    },

    clips(subjectId: number, filter: { label?: CryLabel | 'unlabelled' } = {}): CryClip[] {
      deps.care.subject(subjectId);
      const label =
        filter.label === undefined
          ? undefined
          : filter.label === 'unlabelled'
            ? isNull(cryClips.label)
            : eq(cryClips.label, filter.label);
      return db
        .select()
        .from(cryClips)
        .where(and(eq(cryClips.subjectId, subjectId), label))
        .orderBy(desc(cryClips.recordedAt), desc(cryClips.id))
        .all()
        .map(withExpiry);
    },

    clip: (subjectId: number, clipId: number): CryClip => withExpiry(clipRow(subjectId, clipId)),

    clipAudio: (subjectId: number, clipId: number): Promise<Buffer> =>
      readFile(path.join(clipsDir, clipRow(subjectId, clipId).file)),

    /** Sets or clears (null) a clip's label, with who and when. */
    label(subjectId: number, clipId: number, label: CryLabel | null, userId: number | undefined): CryClip {
      clipRow(subjectId, clipId);
      db.update(cryClips)
        .set(
          label
            ? { label, labelledBy: userId ?? null, labelledAt: clock.now() }
            : // Unlabelled again: its 48 hours count from now, not from when it was recorded.
              { label: null, labelledBy: null, labelledAt: null, createdAt: clock.now() },
        )
        .where(eq(cryClips.id, clipId))
        .run();
      return service.clip(subjectId, clipId);
    },

    async removeClip(subjectId: number, clipId: number): Promise<void> {
      const row = clipRow(subjectId, clipId);
      db.delete(cryClips).where(eq(cryClips.id, clipId)).run();
      featureCache.delete(row.file);
      await rm(path.join(clipsDir, row.file), { force: true });
    },

    /**
     * Deletes unlabelled clips past their time, and the files of subjects that no longer exist (their rows
     * went with the subject). Returns how many clips went.
     */
    async expireClips(): Promise<number> {
      const expired = db
        .select()
        .from(cryClips)
        .where(and(isNull(cryClips.label), lt(cryClips.createdAt, clock.now() - unlabelledMs)))
        .all();
      if (expired.length)
        db.delete(cryClips)
          .where(
            inArray(
              cryClips.id,
              expired.map((row) => row.id),
            ),
          )
          .run();
      for (const row of expired) {
        featureCache.delete(row.file);
        await rm(path.join(clipsDir, row.file), { force: true });
      }
      const living = new Set(
        db
          .select({ id: subjects.id })
          .from(subjects)
          .all()
          .map((row) => String(row.id)),
      );
      for (const dir of [clipsDir, modelsDir]) {
        const entries = await readdir(dir).catch(() => [] as string[]);
        for (const entry of entries)
          if (/^\d+$/.test(entry) && !living.has(entry))
            await rm(path.join(dir, entry), { recursive: true, force: true });
      }
      if (expired.length) deps.log?.info({ clips: expired.length }, 'unlabelled cry clips expired');
      return expired.length;
    },

    // ------------------------------------------------------------------ models

    /** The versions, and how many labelled clips a training would have against how many it needs of each. */
    versions(subjectId: number): {
      active: number | null;
      versions: CryVersion[];
      labelled: { crying: number; notCrying: number; needed: number };
    } {
      deps.care.subject(subjectId);
      const rows = db
        .select()
        .from(cryModels)
        .where(eq(cryModels.subjectId, subjectId))
        .orderBy(desc(cryModels.version))
        .all()
        .map(asVersion);
      const labelled = db
        .select({ label: cryClips.label, clips: count() })
        .from(cryClips)
        .where(and(eq(cryClips.subjectId, subjectId), isNotNull(cryClips.label)))
        .groupBy(cryClips.label)
        .all();
      const of = (label: CryLabel) => labelled.find((row) => row.label === label)?.clips ?? 0;
      return {
        active: rows.find((row) => row.active)?.version ?? null,
        versions: rows,
        labelled: { crying: of('crying'), notCrying: of('not_crying'), needed: minPerLabel },
      };
    },

    version: (subjectId: number, version: number): CryVersion => asVersion(versionRow(subjectId, version)),

    /**
     * Trains a new (inactive) version from the subject's labelled clips; 409 `not_enough_clips` with fewer
     * than `minClipsPerLabel` of either label.
     */
    train(subjectId: number, userId?: number): Promise<CryVersion> {
      deps.care.subject(subjectId);
      const labelled = db
        .select()
        .from(cryClips)
        .where(and(eq(cryClips.subjectId, subjectId), isNotNull(cryClips.label)))
        .orderBy(asc(cryClips.recordedAt), asc(cryClips.id))
        .all();
      const crying = labelled.filter((row) => row.label === 'crying');
      const quiet = labelled.filter((row) => row.label === 'not_crying');
      if (crying.length < minPerLabel || quiet.length < minPerLabel)
        throw new AppError(
          409,
          'not_enough_clips',
          `Training needs at least ${minPerLabel} clips labelled "crying" and ${minPerLabel} labelled "not crying"; ` +
            `there are ${crying.length} and ${quiet.length}.`,
          { crying: crying.length, notCrying: quiet.length, needed: minPerLabel },
        );
      return exclusive(subjectId, async () => {
        const started = performance.now();
        const prepared: { crying: boolean; heldOut: boolean; features: number[][] }[] = [];
        for (const [label, rows] of [
          [true, crying],
          [false, quiet],
        ] as const)
          for (const [index, row] of rows.entries())
            prepared.push({
              crying: label,
              heldOut: index % 4 === 3,
              features: await clipFeatures(row.file),
            });
        const training = prepared.filter((clip) => !clip.heldOut);
        const heldOut = prepared.filter((clip) => clip.heldOut);
        const trained = await trainClassifier(training, deps.train);
        const score = (clips: typeof prepared) =>
          clips.map((clip) => ({
            probability: streamProbability(trained, clip.features),
            crying: clip.crying,
          }));
        const trainMs = Math.round(performance.now() - started);
        const model: ModelBody = {
          format: MODEL_FORMAT,
          kind: trained.kind,
          features: { ...FEATURE_SPEC },
          normalisation: trained.normalisation,
          layers: trained.layers,
          threshold: trained.threshold,
          trainedAt: clock.now(),
          trainMs,
          clips: prepared.length,
          positives: crying.length,
          negatives: quiet.length,
          metrics: {
            heldOut: figures(score(heldOut), trained.threshold),
            training: figures(score(training), trained.threshold),
            trainingWindows: trained.windows,
            loss: trained.loss,
          },
        };
        const bytes = serializeModel(model);
        const stored = await store(subjectId, bytes, model, { trainedBy: userId });
        deps.log?.info(
          {
            subject: subjectId,
            version: stored.version,
            clips: prepared.length,
            trainMs,
            heldOut: model.metrics.heldOut,
          },
          'cry model trained',
        );
        return stored;
      });
    },

    /** Loads and checks the version's file first: a bad file is refused (422) and the active version stays. */
    async activate(subjectId: number, version: number): Promise<CryVersion> {
      const row = versionRow(subjectId, version);
      await loadVersion(row, true);
      setActive(subjectId, version);
      return service.version(subjectId, version);
    },

    /** The newest version older than the active one becomes active; with none, the default detector. */
    async rollback(subjectId: number): Promise<{ active: CryVersion | null }> {
      deps.care.subject(subjectId);
      const active = activeRow(subjectId);
      if (!active) throw new AppError(409, 'no_active_model', 'The default detector is in use already.');
      const previous = db
        .select()
        .from(cryModels)
        .where(and(eq(cryModels.subjectId, subjectId), lt(cryModels.version, active.version)))
        .orderBy(desc(cryModels.version))
        .get();
      if (previous) {
        await loadVersion(previous, true);
        setActive(subjectId, previous.version);
        return { active: service.version(subjectId, previous.version) };
      }
      setActive(subjectId, null);
      return { active: null };
    },

    /** A model file from elsewhere (an export, a backup) as a new inactive version; nothing is written unless it passes. */
    importModel(
      subjectId: number,
      bytes: Buffer,
      meta: { userId?: number | undefined; fileName?: string | undefined } = {},
    ): Promise<CryVersion> {
      deps.care.subject(subjectId);
      const model = parseModelFile(bytes);
      return exclusive(subjectId, () =>
        store(subjectId, bytes, model, {
          trainedBy: meta.userId,
          note: `imported${meta.fileName ? ` from ${meta.fileName.slice(0, 100)}` : ''}`,
        }),
      );
    },

    /** The version's file exactly as stored (checked first, so a damaged one is not handed out). */
    async exportModel(
      subjectId: number,
      version: number,
    ): Promise<{ bytes: Buffer; sha256: string; name: string }> {
      const row = versionRow(subjectId, version);
      const bytes = await readFile(path.join(modelsDir, row.file)).catch(() => {
        throw new AppError(422, 'model_invalid', `The model file of version ${version} cannot be read.`);
      });
      parseModelFile(bytes, row.sha256);
      return { bytes, sha256: row.sha256, name: `cry-model-subject${subjectId}-v${version}.json` };
    },

    /** The active version's file for a node to score with on its own; null: the default detector. */
    async activeModelFile(
      subjectId: number,
    ): Promise<{ version: number; bytes: Buffer; sha256: string } | null> {
      deps.care.subject(subjectId);
      const active = activeRow(subjectId);
      if (!active) return null;
      const { bytes, sha256 } = await service.exportModel(subjectId, active.version);
      return { version: active.version, bytes, sha256 };
    },

    /**
     * The subject a node's audio belongs to: the one it watches, or `requested` among several. 404
     * `no_subject` while no subject names the node (it scores with the default detector meanwhile).
     */
    subjectOfDevice(deviceId: number, requested?: number): number {
      const watched = db
        .select({ id: subjectDevices.subjectId })
        .from(subjectDevices)
        .where(eq(subjectDevices.deviceId, deviceId))
        .orderBy(asc(subjectDevices.subjectId))
        .all()
        .map((row) => row.id);
      if (requested !== undefined) {
        if (!watched.includes(requested))
          throw new AppError(404, 'no_subject', `This node does not watch subject ${requested}.`);
        return requested;
      }
      if (watched.length === 0)
        throw new AppError(404, 'no_subject', 'No subject is watched by this node yet.');
      if (watched.length > 1)
        throw new AppError(
          409,
          'subject_ambiguous',
          'This node watches several subjects; name one with `subject`.',
          { subjects: watched },
        );
      return watched[0]!;
    },

    /** Keeps the newest `keepVersions` and the active one, with their files. */
    async prune(subjectId: number): Promise<number> {
      const keep = db
        .select({ id: cryModels.id })
        .from(cryModels)
        .where(eq(cryModels.subjectId, subjectId))
        .orderBy(desc(cryModels.version))
        .limit(keepVersions)
        .all()
        .map((row) => row.id);
      const active = activeRow(subjectId);
      if (active) keep.push(active.id);
      const gone = db
        .delete(cryModels)
        .where(and(eq(cryModels.subjectId, subjectId), notInArray(cryModels.id, keep)))
        .returning()
        .all();
      for (const row of gone) {
        loaded.delete(row.id);
        await rm(path.join(modelsDir, row.file), { force: true });
      }
      return gone.length;
    },

    // ------------------------------------------------------------------ scoring

    /**
     * How likely the audio (16 kHz mono, at least 1 s for a model) is crying: the subject's active model,
     * else the default detector's best window. A model whose file has become unusable is logged and the
     * default detector answers, so the reading path never fails for it.
     */
    async probability(subjectId: number, samples: Float32Array): Promise<CryScore> {
      const active = activeRow(subjectId);
      let error: string | undefined;
      if (active) {
        try {
          const model = await loadVersion(active);
          const probability = streamProbability(model, windowFeatures(samples));
          return {
            probability,
            threshold: model.threshold,
            crying: probability >= model.threshold,
            source: 'model',
            version: active.version,
          };
        } catch (failure) {
          error = (failure as Error).message;
          deps.log?.error(
            { subject: subjectId, version: active.version, err: failure },
            'active cry model unusable',
          );
        }
      }
      const analysis = analyseCry(samples);
      return {
        probability: Math.max(0, ...analysis.windows.map((window) => window.probability)),
        threshold: DEFAULT_THRESHOLD,
        crying: analysis.episodes.length > 0,
        source: 'default',
        version: null,
        ...(error ? { error } : {}),
      };
    },
  };
  return service;
}

export type CryService = ReturnType<typeof createCryService>;
