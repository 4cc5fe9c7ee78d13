/** Files the bundler inlines as text (`with { type: "text" }`): audio worklets, loaded from a Blob URL. */
declare module "*.worklet.js" {
  const source: string;
  export default source;
}

/** Style sheets a module pulls in (uPlot's); the bundler adds them to the page's CSS. */
declare module "*.css";

/**
 * libsamplerate built to run inside an AudioWorklet (it sets globalThis.LibSampleRate there),
 * bundled as a file of its own (`with { type: "file" }`: its URL) and loaded only when needed.
 */
declare module "@alexanderolsen/libsamplerate-js/dist/libsamplerate.worklet.js" {
  const url: string;
  export default url;
}
