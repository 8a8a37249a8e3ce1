// @hearth/hub/media: ffmpeg, ffprobe, MP4 and MJPEG handling as a library. It imports nothing from the rest
// of the hub (no config, db or http), so it can be tested, benchmarked and replaced on its own.
export { MediaError, type MediaErrorCode } from './errors.js';
export { type ClipInput, type ClipResult, type ClipSpec, exportClip } from './export.js';
export {
  type FragmentInfo,
  type LiveInit,
  Mp4BoxSplitter,
  type ParsedInit,
  parseFragment,
  parseLiveInit,
} from './fmp4.js';
export {
  type JpegOptions,
  jpegFromMp4,
  lastKeyframeFragment,
  type ReadRange,
  type SegmentBytes,
  segmentFirstFrame,
  segmentLastKeyframe,
} from './frames.js';
export {
  buildLiveCommand,
  type LiveFragment,
  type LiveStreamEvents,
  type LiveStreamExit,
  type LiveStreamHandle,
  type LiveStreamInput,
  type LiveStreamSpec,
  startLiveStream,
} from './live-stream.js';
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
  demoOverlay,
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
export { testPatternBurst } from './test-pattern.js';
