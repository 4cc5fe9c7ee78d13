/** The validated configuration every part of voicebot reads. Built once, at the edge, by load.ts. */
export interface HostPort {
  host: string;
  port: number;
}

export type LogLevelName = "debug" | "info" | "warn" | "error";

export interface Config {
  /** The env file that was read, if any. */
  configFile: string | null;
  dataDir: string;
  audiosocket: HostPort;
  /** Empty string = allow every peer (start-up warns). */
  audiosocketAllow: string;
  audiostream: HostPort;
  http: HostPort;
  maxCalls: number;
  language: string;
  silenceWarningSeconds: number;
  silenceHangupSeconds: number;
  maxCallDurationSeconds: number;
  audiostreamToken: string | null;
  adminToken: string | null;
  deepgramApiKey: string | null;
  groqApiKey: string | null;
  openaiApiKey: string | null;
  deepgramBaseUrl: string | null;
  groqBaseUrl: string | null;
  openaiBaseUrl: string | null;
  logLevel: LogLevelName;
}

/**
 * A bad value: start-up stops with this one line, naming the variable (or flag), its value,
 * where it came from, and what is allowed.
 */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly value: string,
    readonly source: string,
    readonly allowed: string,
  ) {
    super(`invalid configuration: ${variable}=${JSON.stringify(value)} (${source}): ${allowed}`);
    this.name = "ConfigError";
  }
}
