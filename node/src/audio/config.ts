import { CRY_STREAM } from '@hearth/hub/ai';
import { z } from 'zod';

/**
 * The node's microphone as a cry sensor: ffmpeg captures ALSA (or any ffmpeg input) as 16 kHz mono s16le;
 * every `hopMs` the last `contextMs` of audio is scored with the subject's active household model (fetched
 * from the hub) or the default detector, and `crying` readings go out on each change and every
 * `reportSeconds`. Snippets around detections (and a few quiet ones) go to the hub for the household to label.
 */
export const audioSensorSchema = z
  .object({
    type: z.literal('audio'),
    name: z.string().min(1).max(64),
    /** ALSA capture device (`arecord -L`): `hw:1,0` for a USB microphone on a Raspberry Pi. */
    device: z.string().min(1).default('default'),
    /** ffmpeg input arguments instead of `-f alsa -i <device>` (PulseAudio, a file, a lavfi source in tests). */
    input: z.array(z.string().min(1)).min(1).optional(),
    ffmpeg: z.string().min(1).default('ffmpeg'),
    /**
     * The defaults are the hub's (CRY_STREAM): a household model's threshold is chosen for them, so other
     * values trade its false-alarm budget for something else.
     */
    hopMs: z.number().int().min(250).max(5_000).default(CRY_STREAM.hopMs),
    /** Audio scored at each hop (the default detector needs ~3 s to see a cry's rhythm of bursts). */
    contextMs: z.number().int().min(1_000).max(10_000).default(CRY_STREAM.contextMs),
    /** Overrides the scorer's own switch-on level (the model's threshold; 0.6 for the default detector). */
    threshold: z.number().min(0).max(1).nullable().default(null),
    /** Hops in a row above the level before `crying`, below it before `quiet`: one loud second is not a cry. */
    onHops: z.number().int().min(1).max(10).default(CRY_STREAM.onHops),
    offHops: z.number().int().min(1).max(30).default(CRY_STREAM.offHops),
    /** A reading with the current state at least this often, changed or not. */
    reportSeconds: z.number().int().min(1).max(3_600).default(60),
    /** How often the hub is asked whether the subject's active model changed. */
    modelCheckSeconds: z.number().int().min(1).max(3_600).default(60),
    /** Only for a node watching several subjects: whose model, whose clips. */
    subject: z.number().int().positive().optional(),
    snippets: z
      .object({
        enabled: z.boolean().default(true),
        seconds: z.number().int().min(1).max(10).default(5),
        /** Snippets waiting for the hub, in memory only; the oldest goes when full. */
        max: z.number().int().min(1).max(32).default(6),
        /** While crying goes on, another snippet this often. */
        everySeconds: z.number().int().min(5).max(3_600).default(120),
        /** A quiet snippet about this often (randomised ±50 %), so "not crying" has examples; 0: never. */
        quietEverySeconds: z.number().int().min(0).max(86_400).default(3_600),
      })
      .strict()
      .prefault({}),
    /** First pause before ffmpeg is started again after it ended; doubles up to 30 s. */
    restartMs: z.number().int().min(10).max(30_000).default(1_000),
  })
  .strict();
export type AudioSensorConfig = z.infer<typeof audioSensorSchema>;
