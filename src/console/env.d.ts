/** Files the bundler inlines as text (`with { type: "text" }`): audio worklets, loaded from a Blob URL. */
declare module "*.worklet.js" {
  const source: string;
  export default source;
}
