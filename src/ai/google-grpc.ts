/**
 * What Google's speech clients share: how to reach the service (the service account, or a local
 * fake on 127.0.0.1 without TLS) and what a gRPC failure means in ProviderError terms.
 */
import { credentials as grpcCredentials } from "@grpc/grpc-js";
import { GoogleAuth, googleAuthLibrary } from "google-gax";
import type { GoogleCredentials } from "../config/schema.ts";

export interface GoogleEndpoint {
  credentials: GoogleCredentials;
  /** host[:port]; null = the client's own global endpoint. */
  endpoint: string | null;
}

/** The constructor options both clients (speech, text-to-speech) take (a type, not an interface: their ClientOptions has an index signature). */
export type GoogleClientOptions = {
  apiEndpoint?: string;
  port?: number;
  sslCreds?: ReturnType<typeof grpcCredentials.createInsecure>;
  auth: GoogleAuth;
  projectId: string;
  /** The gRPC transport, never the HTTP/1 fallback. */
  fallback: false;
};

/** Only a fake on the loopback address may be reached without TLS and without the key. */
const LOCAL_HOST = "127.0.0.1";
const CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform";

export function googleClientOptions(o: GoogleEndpoint): GoogleClientOptions {
  const projectId = o.credentials.projectId ?? o.credentials.clientEmail.replace(/^.*@|\..*$/g, "");
  // Given even to a local fake: without it the auth library probes the GCE metadata server.
  // A JWT client from the key itself (the `credentials` option is deprecated and says so on stderr).
  const authClient = new googleAuthLibrary.JWT({ email: o.credentials.clientEmail, key: o.credentials.privateKey, scopes: [CLOUD_PLATFORM] });
  const auth = new GoogleAuth({ authClient, projectId, scopes: [CLOUD_PLATFORM] });
  const options: GoogleClientOptions = { fallback: false, auth, projectId };
  if (o.endpoint !== null) {
    const [host, port] = o.endpoint.split(":") as [string, string | undefined];
    options.apiEndpoint = host;
    options.port = port === undefined ? 443 : Number(port);
    if (host === LOCAL_HOST) options.sslCreds = grpcCredentials.createInsecure();
  }
  return options;
}

/** gRPC status codes (google.rpc.Code) as HTTP statuses, as Google's own REST mapping does. */
const HTTP_BY_CODE: Readonly<Record<number, number>> = {
  1: 499, // CANCELLED
  2: 500, // UNKNOWN
  3: 400, // INVALID_ARGUMENT
  4: 504, // DEADLINE_EXCEEDED
  5: 404, // NOT_FOUND
  6: 409, // ALREADY_EXISTS
  7: 403, // PERMISSION_DENIED
  8: 429, // RESOURCE_EXHAUSTED
  9: 400, // FAILED_PRECONDITION
  10: 409, // ABORTED
  11: 400, // OUT_OF_RANGE
  12: 501, // UNIMPLEMENTED
  13: 500, // INTERNAL
  14: 503, // UNAVAILABLE
  15: 500, // DATA_LOSS
  16: 401, // UNAUTHENTICATED
};

export interface GrpcFailure {
  /** The HTTP equivalent of the gRPC code; null when the error carries none. */
  status: number | null;
  /** The vendor's own words, without the "14 UNAVAILABLE: " prefix grpc-js adds. */
  message: string;
  retryable: boolean;
}

/** A gRPC error (a ServiceError, or gax's GoogleError) in ProviderError terms. */
export function grpcFailure(error: unknown): GrpcFailure {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  const details = typeof error === "object" && error !== null ? (error as { details?: unknown }).details : undefined;
  const text = typeof details === "string" && details !== "" ? details : error instanceof Error ? error.message : String(error);
  if (typeof code !== "number" || HTTP_BY_CODE[code] === undefined) return { status: null, message: text, retryable: true };
  const status = HTTP_BY_CODE[code] as number;
  // 499 is our own cancel: nothing to retry. 501 will not appear on a retry either.
  const retryable = status === 409 || status === 429 || status === 500 || status === 503 || status === 504;
  return { status, message: `${grpcCodeName(code)}: ${text}`, retryable };
}

const CODE_NAMES = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"] as const;

function grpcCodeName(code: number): string {
  return CODE_NAMES[code] ?? `code ${code}`;
}
