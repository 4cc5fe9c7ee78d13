import pkg from "../package.json" with { type: "json" };

/** voicebot's version, from package.json (embedded in the binary). */
export const version: string = pkg.version;
