// What the node agent shares with the hub's on-device intelligence (not copied): the inference service
// and its face direction, the frame sampler and motion gate, and the cry pipeline.
export * from './audio/cry-detector.js';
export * from './audio/features.js';
export { clipProbability, hopProbabilities, windowFeatures } from './cry/classifier.js';
export { classifierOf, parseModelFile } from './cry/model-file.js';
export { CRY_STREAM, createCrySwitch, episodes } from './cry/stream.js';
export { encodeWav } from './cry/wav.js';
export * from './frames/motion.js';
export * from './frames/queue.js';
export * from './frames/sampler.js';
export * from './inference/face-direction.js';
export * from './inference/labels.js';
export * from './inference/messages.js';
export * from './inference/models.js';
export * from './inference/pool.js';
