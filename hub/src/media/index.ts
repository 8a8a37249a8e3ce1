// @hearth/hub/media: ffmpeg, ffprobe, MP4 and MJPEG handling as a library. It imports nothing from the rest
// of the hub (no config, db or http), so it can be tested, benchmarked and replaced on its own.
export { MediaError, type MediaErrorCode } from './errors.js';
export { boundaryFromContentType, type MjpegFrame, MjpegParser, type MjpegStats } from './mjpeg.js';
export {
  type FragmentedMp4Layout,
  mp4InitHeaderLength,
  type ProbeOptions,
  probeSegment,
  type SegmentProbe,
  scanFragmentedMp4,
  trimToLastFragment,
} from './probe.js';
export {
  DEMO_FONT_FILE,
  type FfmpegLogLine,
  ffmpegVersion,
  parseFfmpegLine,
  parseSegmentListLine,
  type RecorderEvents,
  type RecorderExit,
  type RecorderHandle,
  type RecorderInput,
  type RecorderSpec,
  redactUrls,
  type SegmentInfo,
  startRecorder,
  stopOrphanRecorders,
} from './recorder.js';
