/**
 * What the inference service adds to the best shot of a burst: a person or pet in the picture, a face,
 * the face turned to the camera, its eyes open. It raises the sharpness/exposure score by at most 60 %, so
 * it decides between pictures of similar quality (a frontal face beats a sharper turned one or an empty
 * frame) but cannot lift a badly blurred or dark picture over a good one. Without the service (off,
 * failed, too slow) a burst is ranked as before, never half with and half without it.
 */
import sharp from 'sharp';
import type { PictureAnalyser } from '../ai/inference/analyse.js';
import { householdLabel } from '../ai/inference/labels.js';
import type { ModelOutput, RgbImage } from '../ai/inference/messages.js';

/**
 * Facing the camera matters most (it is what makes a family snapshot); a person or pet present lets a
 * pet's picture, or a person seen from the back, beat an empty frame; face present and eyes open are
 * smaller steps (a face is usually also a person; the blink reading is the least reliable).
 */
export const BEST_SHOT_WEIGHTS = { subject: 0.15, face: 0.1, facing: 0.25, eyesOpen: 0.1 } as const;

/** A face below this detector score is no face (as in face direction). */
const MIN_FACE_SCORE = 0.5;
/** Centernet's confidence above this says that a person or pet is there, not how good the picture is. */
const FULL_SUBJECT_SCORE = 0.5;
/** |yaw| in degrees at which a face no longer counts as facing the camera at all (15° is "turned"). */
const TURNED_AWAY_YAW = 30;
/** Largest side given to the detectors: ESP32 pictures are ≤ 1600 px, the detectors work at ≤ 512. */
const ANALYSIS_SIZE = 640;

export interface SubjectReading {
  /** The face the detector is surest of, when it is sure enough. */
  face: { score: number; yaw: number; eyesOpen: boolean | null } | null;
  /** The best person or pet detection's score, 0 when none. */
  subject: number;
}

export function readSubjects(faces: ModelOutput, objects: ModelOutput): SubjectReading {
  const face =
    faces.model === 'face'
      ? faces.faces
          .filter((f) => f.score >= MIN_FACE_SCORE)
          .reduce<(typeof faces.faces)[number] | null>((a, b) => (a && a.score >= b.score ? a : b), null)
      : null;
  const subject =
    objects.model === 'objects'
      ? Math.max(
          0,
          ...objects.objects
            .filter((o) => ['person', 'pet'].includes(householdLabel(o.label) ?? ''))
            .map((o) => o.score),
        )
      : 0;
  return { face: face && { score: face.score, yaw: face.yaw, eyesOpen: face.eyesOpen }, subject };
}

/** 0 … 0.6: what the picture's subjects add, as a fraction of its sharpness/exposure score. */
export function subjectBonus(reading: SubjectReading): number {
  const w = BEST_SHOT_WEIGHTS;
  let bonus = w.subject * Math.min(1, reading.subject / FULL_SUBJECT_SCORE);
  const { face } = reading;
  if (face) {
    bonus += w.face * face.score;
    bonus += w.facing * Math.max(0, 1 - Math.abs(face.yaw) / TURNED_AWAY_YAW);
    // Not measured (no eye landmarks): half, neither rewarded nor punished.
    bonus += w.eyesOpen * (face.eyesOpen === null ? 0.5 : face.eyesOpen ? 1 : 0);
  }
  return bonus;
}

export const bestShotScore = (base: number, reading: SubjectReading | null) =>
  reading ? base * (1 + subjectBonus(reading)) : base;

/** The upright picture as RGB pixels at the size the detectors want. */
export async function rgbForAnalysis(jpeg: Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(jpeg)
    .rotate()
    .resize({ width: ANALYSIS_SIZE, height: ANALYSIS_SIZE, fit: 'inside', withoutEnlargement: true })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, pixels: new Uint8Array(data) };
}

/**
 * Faces and subjects of every picture of a burst, one request at a time (the detectors are shared with
 * the cameras); null as soon as one picture gets no answer in `answerMs`: the burst is then ranked without.
 */
export async function readBurst(
  pictures: (() => Promise<Buffer>)[],
  analyse: PictureAnalyser['analyse'],
  answerMs: number,
): Promise<SubjectReading[] | null> {
  const readings: SubjectReading[] = [];
  for (const picture of pictures) {
    const image = await rgbForAnalysis(await picture());
    const faces = await analyse('face', image, answerMs);
    if (!faces) return null;
    const objects = await analyse('objects', image, answerMs);
    if (!objects) return null;
    readings.push(readSubjects(faces, objects));
  }
  return readings;
}
