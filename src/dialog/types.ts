import type { ChatMessage, ToolCall, ToolSpec } from "../ai/llm/types.ts";

/**
 * The dialog's whole interface: events in, actions out. It is pure logic — no sockets, files or
 * timers — so the call layer feeds it everything (keypad digits, the end of each prompt, the
 * timers it runs on the dialog's behalf) and carries out what it asks.
 */

/** Fixed phrases; their texts live in assets/phrases/<language>.json. */
export const PHRASE_IDS = [
  "welcome",
  "problemMenu",
  "fixInternet",
  "fixMobile",
  "fixOther",
  "solvedQuestion",
  "invalidChoice",
  "tooManyInvalid",
  "enterPhone",
  "invalidPhone",
  "youTyped",
  "confirmPhone",
  "escalated",
  "escalatedKnownNumber",
  "ticketNumberIs",
  "goodbyeResolved",
  "goodbye",
  "stillThere",
  "silenceGoodbye",
  "maxDurationGoodbye",
  "busy",
  "welcomeAi",
  "filler",
  "stillWorking",
  "sorryRepeat",
  "aiErrorGoodbye",
  "sttLost",
  "transferring",
  "transferFailed",
  "digit0",
  "digit1",
  "digit2",
  "digit3",
  "digit4",
  "digit5",
  "digit6",
  "digit7",
  "digit8",
  "digit9",
  "digitStar",
  "digitHash",
] as const;
export type PhraseId = (typeof PHRASE_IDS)[number];

/**
 * One piece of an utterance: a fixed phrase (from the cache), a string of keypad digits read one
 * by one (cached digit phrases), or free text the call's TTS voice synthesizes on the fly.
 */
export type SpeechPart = { phrase: PhraseId } | { digits: string } | { text: string };

export type ProblemType = "internet" | "mobile" | "other";
/** "incomplete": the AI providers failed and the call ended before the ticket was filled in. */
export type TicketStatus = "open" | "resolved" | "escalated" | "abandoned" | "incomplete";

/** Why the call ended, from the dialog's point of view (stored as the call's end reason). */
export type DialogEndReason =
  | "resolved"
  | "escalated"
  | "too-many-invalid"
  | "silence"
  | "max-duration"
  | "caller-hangup"
  /** All lines were busy: the caller heard the busy phrase (no dialog ran). */
  | "busy"
  /** The LLM or TTS failed three turns in a row. */
  | "ai-error"
  /** Handed to a technician (the transport's transfer, or escalation where it has none). */
  | "transferred";

export type DialogEvent =
  /**
   * `callerNumber`: one a technician can call back, or null; the transports' edge turns caller
   * ids that are none ("anonymous", FreeSWITCH's 0000000000) into null (transports/caller-id.ts).
   */
  | { type: "start"; callerNumber: string | null }
  /** The ticket the dialog asked for exists, with this number. */
  | { type: "ticketOpened"; ticketNumber: number }
  /** A keypad key, pressed at `at` (epoch ms): the keypad dialog's clock for TECH_HOURS. */
  | { type: "dtmf"; digit: string; at: number }
  /** The utterance with this id has been played to its end (not cut short). */
  | { type: "spoken"; utteranceId: number }
  | { type: "silenceWarning" }
  | { type: "silenceTimeout" }
  | { type: "maxDuration" }
  /**
   * The line closed while the dialog still ran: the caller hung up, or, with `cause`, it was lost
   * another way (protocol-error, write-error, internal-error, shutdown). Recorded as the hang-up's detail.
   */
  | { type: "callerHangup"; cause?: string }
  /** voicebot cut the call before the dialog ended it (the service stopping): like callerHangup, recorded as "server". */
  | { type: "serverHangup" }
  /** A final transcript closed the caller's turn (AI mode). */
  | { type: "callerSaid"; text: string; at: number }
  /** The model called a tool while generating reply `replyId`; delivered as soon as it is complete. */
  | { type: "toolCall"; replyId: number; call: ToolCall; at: number }
  /** The model finished reply `replyId`; `text` is everything it wrote (not necessarily heard). */
  | { type: "replyDone"; replyId: number; text: string }
  /** Reply `replyId` failed after its retries (LLM or TTS); nothing more of it will play. */
  | { type: "replyFailed"; replyId: number; error: string }
  /**
   * The audio of reply `replyId` stopped: played to its end, or cut by the caller (barge-in), in
   * which case `heard` is only the part that was played.
   */
  | { type: "replyHeard"; replyId: number; heard: string; interrupted: boolean }
  /**
   * The scribe of caller turn `scribeId` answered: `call` is its record_facts call, or null when
   * it wrote none. It fed the ticket off the critical path while the reply was spoken.
   */
  | { type: "scribeDone"; scribeId: number; call: ToolCall | null }
  /** The scribe of caller turn `scribeId` failed or missed its deadline: the facts stay as they were. */
  | { type: "scribeFailed"; scribeId: number; error: string }
  /** Speech recognition is gone for good (reconnect failed): carry on with the keypad. */
  | { type: "sttLost" }
  /** The PBX could not take the caller to the technician (AMI/ESL down, target refused). */
  | { type: "transferFailed"; reason: string };

export type DialogAction =
  /**
   * Play these parts, in order, after anything already queued. `interruptible`: a digit cuts it
   * short (and still counts). `awaitInput`: once it has been played, the caller's silence timers run (after `patienceMs`).
   */
  | {
      type: "say";
      utteranceId: number;
      parts: SpeechPart[];
      interruptible: boolean;
      awaitInput: boolean;
      /**
       * The caller has something to do first (unplug the box for 30 s, restart the phone):
       * the silence countdown starts only this long after the prompt ends.
       */
      patienceMs?: number;
    }
  /** Stop whatever is playing now (the caller pressed a key during an interruptible prompt). */
  | { type: "stopSpeaking" }
  /** Create the call's ticket (status open); answer with a `ticketOpened` event. */
  | { type: "openTicket" }
  | {
      type: "updateTicket";
      problemType?: ProblemType;
      status?: TicketStatus;
      phone?: string;
      description?: string;
      customer?: string;
    }
  /**
   * Ask the model for reply `replyId` to this conversation (AI mode). The call streams its text to
   * the caller sentence by sentence and feeds back toolCall, replyDone, replyHeard or replyFailed.
   */
  | { type: "think"; replyId: number; messages: ChatMessage[]; tools: ToolSpec[] }
  /**
   * Ask the model, beside the reply and never before it, which facts the conversation holds so
   * far: one forced call of `tool`. Answer with scribeDone or scribeFailed.
   */
  | { type: "scribe"; scribeId: number; messages: ChatMessage[]; tool: ToolSpec }
  /** Hand the caller to a technician once everything queued has been played. */
  | { type: "transfer"; reason: string }
  /** A log-worthy step: stored in `events` and as a caller turn when it is the caller's input. */
  | { type: "record"; kind: string; detail: string }
  /** Hang up once everything queued has been played. */
  | { type: "hangup"; reason: DialogEndReason };

export type DialogState =
  | "WELCOME"
  | "IDENTIFICATION"
  | "DIAGNOSTIC"
  | "SOLUTION"
  | "TRANSFER"
  | "MENU"
  | "VERIFICATION"
  | "PHONE_ENTRY"
  | "PHONE_CONFIRM"
  | "GOODBYE";

export interface Dialog {
  readonly state: DialogState;
  handle(event: DialogEvent): DialogAction[];
  /**
   * The phrases its start event says first, in that order: a call's greeting can begin from the
   * phrase cache before its session is built (a storm of calls), and the start's `say` adopts it.
   */
  readonly opening?: readonly PhraseId[];
}
