/**
 * How a household model decides on a stream of audio, in one place for the node that decides (node/src/audio)
 * and the hub that trains, scores clips and evaluates (classifier.ts, cry.service.ts, bench/eval/cry.mjs):
 * every `hopMs` the last `contextMs` get the model's probability (`hopProbabilities` in classifier.ts), and a
 * switch turns the probabilities into a state — crying after `onHops` hops in a row at or above the threshold,
 * quiet after `offHops` below it. A model's threshold is chosen on these episodes, so it means what the node
 * does with it.
 */
export interface CryStream {
  hopMs: number;
  contextMs: number;
  onHops: number;
  offHops: number;
}

/** The node's defaults (node/src/audio/config.ts takes them from here). */
export const CRY_STREAM: CryStream = { hopMs: 1_000, contextMs: 3_000, onHops: 2, offHops: 3 };

/** One state machine of hops: `step` says whether this probability flipped the state. */
export function createCrySwitch(options: Pick<CryStream, 'onHops' | 'offHops'>) {
  let crying = false;
  let streak = 0;
  return {
    crying: () => crying,
    /** A new model starts its count afresh; the state itself stays (a new version does not end a cry). */
    restart() {
      streak = 0;
    },
    step(probability: number, on: number, off: number): boolean {
      const towards = crying ? probability < off : probability >= on;
      streak = towards ? streak + 1 : 0;
      if (streak < (crying ? options.offHops : options.onHops)) return false;
      crying = !crying;
      streak = 0;
      return true;
    },
  };
}

/** A clip too short for `onHops` hops counts when all of its hops are up. */
const onHopsFor = (hops: number, stream: CryStream) => Math.max(1, Math.min(stream.onHops, hops));

/** Episodes the switch starts over these hops, from quiet, with one cut for on and off. */
export function episodes(probabilities: number[], threshold: number, stream: CryStream = CRY_STREAM): number {
  const state = createCrySwitch({ onHops: onHopsFor(probabilities.length, stream), offHops: stream.offHops });
  let started = 0;
  for (const p of probabilities) if (state.step(p, threshold, threshold) && state.crying()) started++;
  return started;
}

/**
 * The highest threshold at which the switch would start an episode in these hops: the best run of `onHops`
 * hops, by its lowest. A clip "is crying" for a threshold exactly when this reaches it.
 */
export function sustainedProbability(probabilities: number[], stream: CryStream = CRY_STREAM): number {
  const run = onHopsFor(probabilities.length, stream);
  let best = 0;
  for (let i = 0; i + run <= probabilities.length; i++)
    best = Math.max(best, Math.min(...probabilities.slice(i, i + run)));
  return best;
}
