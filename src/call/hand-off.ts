/**
 * Handing a caller to a technician, outside the media stream (PROTOCOLS.md §3): Asterisk by AMI
 * Redirect, or without AMI by ending the AudioSocket (or chan_websocket's Dial) and letting the
 * shipped dialplan ask `/api/calls/{uuid}/next`; FreeSWITCH by ESL `uuid_transfer`, then stopping
 * the stream.
 * The control clients are seen through the few methods used here.
 */
import type { Logger } from "../log.ts";
import { parseDialplanTarget, type DialplanTarget } from "../transports/dialplan-target.ts";
import type { CallLeg, TransportName } from "../transports/types.ts";
import type { CallDirectory } from "./call-directory.ts";

export type HandOffResult = { ok: true; via: string } | { ok: false; reason: string };

export interface HandOff {
  /** Whether calls of this transport can be handed over at all (the dialog offers a transfer only then). */
  available(transport: TransportName): boolean;
  /** Send the caller to `target` (`exten@context[:priority]`). On success the leg is about to close. */
  transfer(leg: CallLeg, target: string): Promise<HandOffResult>;
}

export interface AmiControl {
  readonly connected: boolean;
  redirect(uuid: string, target: DialplanTarget): Promise<void>;
}

export interface EslControl {
  readonly connected: boolean;
  api(command: string): Promise<string>;
}

export interface PbxHandOffOptions {
  /** null = no AMI: the dialplan continues after AudioSocket() and asks /next (Asterisk ≥ 20.14). */
  ami: AmiControl | null;
  /** null = no ESL: FreeSWITCH calls cannot be transferred. */
  esl: EslControl | null;
  directory: CallDirectory;
  log: Logger;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class PbxHandOff implements HandOff {
  constructor(private readonly o: PbxHandOffOptions) {}

  available(transport: TransportName): boolean {
    // Asterisk's two ways in share the AMI / dialplan paths (chan_websocket: the caller's channel,
    // named by the dialplan's VB_UUID). The console's test call has no PBX behind it; the ASP media
    // server's own transfer fails without telling voicebot, which would leave the caller in silence.
    return transport === "audiosocket" || transport === "websocket" || (transport === "audiostream" && this.o.esl !== null);
  }

  async transfer(leg: CallLeg, target: string): Promise<HandOffResult> {
    // Validated by the config loader: this cannot throw.
    const where = parseDialplanTarget(target);
    if (leg.transport === "audiostream") return this.freeswitch(leg, where);
    const ami = this.o.ami;
    if (ami === null) {
      this.o.directory.setNext(leg.id, { kind: "transfer", ...where });
      leg.hangup();
      return { ok: true, via: "dialplan" };
    }
    if (!ami.connected) return { ok: false, reason: "AMI is not connected" };
    try {
      await ami.redirect(leg.id, where);
      return { ok: true, via: "ami" };
    } catch (err) {
      return { ok: false, reason: `AMI Redirect failed: ${message(err)}` };
    }
  }

  /**
   * Transfer first, then stop the stream: if the transfer fails the caller is still on the stream
   * and can be told so; once it succeeds the stream must not follow the caller to the technician.
   */
  private async freeswitch(leg: CallLeg, where: { context: string; exten: string }): Promise<HandOffResult> {
    const esl = this.o.esl;
    if (esl === null) return { ok: false, reason: "no ESL configured (ESL_HOST)" };
    if (!esl.connected) return { ok: false, reason: "ESL is not connected" };
    try {
      await esl.api(`uuid_transfer ${leg.id} ${where.exten} XML ${where.context}`);
    } catch (err) {
      return { ok: false, reason: `uuid_transfer failed: ${message(err)}` };
    }
    esl.api(`uuid_audio_stream ${leg.id} stop`).catch((err: unknown) => {
      this.o.log.warn("the stream could not be stopped after the transfer", { call: leg.id, error: message(err) });
    });
    return { ok: true, via: "esl" };
  }
}

/** The longest a transfer waits for the PBX to finish playing the goodbye. */
const MAX_PLAYBACK_WAIT_MS = 10_000;

export interface HandOverDeps {
  leg: CallLeg;
  log: Logger;
  metrics: { transfers: number; transferFailures: number };
  /** Stores the outcome on the call's row (`transfer-sent` event). */
  record: (detail: string) => void;
}

/**
 * One call's transfer: asked for by the dialog (`pending`), carried out once the goodbye has
 * been played (`sent`). A failure brings it back to `none` so the call can go on.
 */
export class HandOver {
  state: "none" | "pending" | "sent" = "none";
  /**
   * The PBX has the caller: this leg must carry no more audio. After an AMI Redirect the socket
   * stays open a moment, and every frame written to it makes Asterisk log "Failed to forward frame".
   */
  handedOver = false;

  constructor(private readonly transfer: { handOff: HandOff; target: string } | null, private readonly deps: HandOverDeps) {}

  request(): void {
    if (this.transfer) this.state = "pending";
  }

  /**
   * Resolves with null once the PBX has the caller, or with why it could not take them. Waits
   * `afterMs` first: what the PBX is still playing (the goodbye, in file mode) is heard whole.
   */
  async send(afterMs = 0): Promise<string | null> {
    const transfer = this.transfer;
    if (!transfer || this.state !== "pending") return null;
    this.state = "sent";
    if (afterMs > 0) await Bun.sleep(Math.min(afterMs, MAX_PLAYBACK_WAIT_MS));
    const startedAt = performance.now();
    const result = await transfer.handOff.transfer(this.deps.leg, transfer.target);
    const ms = Math.round((performance.now() - startedAt) * 10) / 10;
    if (result.ok) {
      this.handedOver = true;
      this.deps.metrics.transfers++;
      this.deps.log.info("caller handed over", { target: transfer.target, via: result.via, ms });
      this.deps.record(`${result.via} ${transfer.target}`);
      return null;
    }
    this.state = "none";
    this.deps.metrics.transferFailures++;
    this.deps.log.warn("hand-off failed: the caller is told a technician will call back", { target: transfer.target, reason: result.reason });
    return result.reason;
  }
}
