/** Files the bundler inlines as text (`with { type: "text" }`): audio worklets, loaded from a Blob URL. */
declare module "*.worklet.js" {
  const source: string;
  export default source;
}

/** Style sheets a module pulls in (uPlot's); the bundler adds them to the page's CSS. */
declare module "*.css";
