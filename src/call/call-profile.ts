import type { TextToSpeech } from "../ai/tts/types.ts";
import type { Tenant } from "../config/tenant.ts";
import type { Dialog, PhraseId } from "../dialog/types.ts";
import type { PhraseCache } from "../media/phrase-cache.ts";
import type { ConversationParts } from "./conversation.ts";

/** What a call of one tenant is answered with: its phrases, its voice, its dialog. */
export interface CallProfile {
  readonly tenant: Tenant;
  readonly texts: Readonly<Record<PhraseId, string>>;
  readonly phrases: PhraseCache;
  /** What a call hears first (its dialog's greeting): rendered before the other phrases. */
  readonly greetings: readonly PhraseId[];
  readonly tts: TextToSpeech;
  /** AI mode's parts in this tenant's language; null = keypad mode. */
  readonly conversation: ConversationParts | null;
  /** `canTransfer`: this call's PBX can take the caller to the tenant's technician line. */
  newDialog(canTransfer: boolean): Dialog;
}
