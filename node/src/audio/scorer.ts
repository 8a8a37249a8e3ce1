import {
  analyseCry,
  type classifierOf,
  clipProbability,
  createCrySwitch,
  cryDetectorOptionsSchema,
  windowFeatures,
} from '@hearth/hub/ai';

export interface ActiveModel {
  version: number;
  sha256: string;
  classifier: ReturnType<typeof classifierOf>;
}

export interface Decision {
  probability: number;
  crying: boolean;
  /** The first decision, or the state flipped. */
  changed: boolean;
  /** At or above the level that keeps crying going: this audio is not an example of quiet. */
  heard: boolean;
  source: 'model' | 'default';
  version: number | null;
  ms: number;
}

const DEFAULTS = cryDetectorOptionsSchema.parse({});

/**
 * Scores each hop's audio with the household model when there is one, else the default detector, and turns
 * the probabilities into a state with the hub's switch of hops (stream.ts: the one a model's threshold was
 * chosen and evaluated with), so a single loud second neither starts nor ends crying. The default detector
 * keeps its own two levels (on above 0.6, off below 0.3); a model has one cut, its trained threshold. The
 * state survives a change of model: a new version does not end a cry.
 */
export function createScorer(options: { threshold: number | null; onHops: number; offHops: number }) {
  let model: ActiveModel | null = null;
  const state = createCrySwitch(options);
  let decided = false;
  return {
    model: () => model,
    setModel(next: ActiveModel | null) {
      model = next;
      state.restart();
    },
    score(samples: Float32Array): Decision {
      const started = performance.now();
      const current = model;
      const probability = current
        ? clipProbability(current.classifier, windowFeatures(samples))
        : (analyseCry(samples).windows.at(-1)?.probability ?? 0);
      const on = options.threshold ?? current?.classifier.threshold ?? DEFAULTS.onAbove;
      const off = options.threshold ?? current?.classifier.threshold ?? DEFAULTS.offBelow;
      const changed = state.step(probability, on, off) || !decided;
      decided = true;
      return {
        probability: Number(probability.toFixed(4)),
        crying: state.crying(),
        changed,
        heard: probability >= off,
        source: current ? 'model' : 'default',
        version: current?.version ?? null,
        ms: performance.now() - started,
      };
    },
  };
}
