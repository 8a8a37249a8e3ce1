/** The light build of hls.js (no subtitles, alternate audio, DRM, CMCD): same API, no own typings. */
declare module 'hls.js/dist/hls.light.mjs' {
  import Hls from 'hls.js';
  export default Hls;
}
