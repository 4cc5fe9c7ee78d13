/**
 * A fake of Google Cloud's speech services on one gRPC server (127.0.0.1, port 0, no TLS), for tests
 * and `voicebot bench --fake-providers`: Text-to-Speech (tests/fakes/google-tts.ts) and, when given,
 * Speech-to-Text. The services are built from the protos the official clients ship (their
 * protos.json, so it also runs inside the compiled binary), and the official clients talk to it
 * unchanged: only the endpoint and the (insecure) credentials differ. Bundled into the binary: no
 * test-only imports, no console output.
 */
import { Server, ServerCredentials, loadPackageDefinition, type GrpcObject, type ServiceClientConstructor, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { fromJSON } from "@grpc/proto-loader";
import speechProtos from "@google-cloud/speech/build/protos/protos.json";
import ttsProtos from "@google-cloud/text-to-speech/build/protos/protos.json";
import { createFakeGoogleTts, type FakeGoogleTts, type FakeGoogleTtsOptions } from "./google-tts.ts";
import { createFakeGoogleStt, type FakeGoogleStt, type FakeGoogleSttOptions } from "./google-stt.ts";

export interface FakeGoogleOptions {
  tts?: FakeGoogleTtsOptions;
  stt?: FakeGoogleSttOptions;
}

export interface FakeGoogle {
  /** host:port, what GOOGLE_SPEECH_ENDPOINT and GOOGLE_TTS_ENDPOINT take (one server serves both). */
  readonly endpoint: string;
  readonly port: number;
  readonly tts: FakeGoogleTts;
  readonly stt: FakeGoogleStt;
  stop(): Promise<void>;
}

/** A service-account file that passes start-up's checks (the fake never checks the key). */
export const FAKE_GOOGLE_CREDENTIALS = JSON.stringify({
  type: "service_account",
  project_id: "voicebot-fake",
  client_email: "voicebot@voicebot-fake.iam.gserviceaccount.com",
  private_key: "-----BEGIN PRIVATE KEY-----\nZmFrZQ==\n-----END PRIVATE KEY-----\n",
});

const LOADER_OPTIONS = { keepCase: false, longs: Number, enums: String, defaults: false, oneofs: true } as const;

function service(protos: object, path: readonly string[]): ServiceClientConstructor {
  let node: GrpcObject | ServiceClientConstructor = loadPackageDefinition(fromJSON(protos, LOADER_OPTIONS));
  for (const part of path) node = (node as GrpcObject)[part] as GrpcObject | ServiceClientConstructor;
  return node as ServiceClientConstructor;
}

export async function startFakeGoogle(options: FakeGoogleOptions = {}): Promise<FakeGoogle> {
  const tts = createFakeGoogleTts(options.tts);
  const stt = createFakeGoogleStt(options.stt);
  const server = new Server();
  server.addService(service(ttsProtos, ["google", "cloud", "texttospeech", "v1", "TextToSpeech"]).service, tts.handlers as unknown as UntypedServiceImplementation);
  server.addService(service(speechProtos, ["google", "cloud", "speech", "v1", "Speech"]).service, stt.handlers as unknown as UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  return {
    endpoint: `127.0.0.1:${port}`,
    port,
    tts,
    stt,
    async stop() {
      tts.close();
      stt.close();
      server.forceShutdown();
    },
  };
}
