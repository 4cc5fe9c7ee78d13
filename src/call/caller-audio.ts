/**
 * The caller's audio on its way into a call. PBXes send frames of any size (the short last frame
 * of an Asterisk Playback(), 30-60 ms SIP packets, mod_audio_stream's chunks), mixed within one
 * call; everything after this point counts in exact 20 ms frames: the activity detector that
 * drives the silence timers and, in AI mode, the recognizer's gate and barge-in.
 */
import { Reframer } from "../media/reframer.ts";
import { CallerActivity } from "./caller-activity.ts";
import type { Conversation } from "./conversation.ts";
import type { SilenceTimers } from "./silence-timers.ts";

export class CallerAudio {
  private readonly framer: Reframer;
  private readonly activity: CallerActivity;
  private stopped = false;

  /** `waitingForCaller`: nothing queued to say, so the caller's silence counts once they stop talking. */
  constructor(
    sampleRate: number,
    private readonly conversation: Conversation | null,
    private readonly silence: SilenceTimers,
    private readonly waitingForCaller: () => boolean,
  ) {
    this.framer = new Reframer(sampleRate);
    this.activity = new CallerActivity(sampleRate);
  }

  /** Inbound PCM as the leg delivered it (the recording takes it so, every sample). Allocation-free. */
  push(samples: Int16Array): void {
    if (!this.stopped) this.framer.push(samples, this.onFrame);
  }

  /** The caller's first 20 ms of valid audio has arrived: the call has reached the dialog. */
  get heard(): boolean {
    return this.activity.heard;
  }

  /** What is held belongs to the old rate and is dropped. */
  setSampleRate(sampleRate: number): void {
    this.framer.setSampleRate(sampleRate);
    this.activity.setSampleRate(sampleRate);
  }

  /** The call ended: frames still held or arriving go nowhere. */
  stop(): void {
    this.stopped = true;
  }

  private readonly onFrame = (frame: Int16Array): void => {
    if (this.stopped) return;
    const change = this.activity.push(frame);
    this.conversation?.onCallerFrame(frame, this.activity.loud);
    if (change === "speech-start") this.silence.reset();
    else if (change === "speech-end") {
      this.conversation?.onCallerSpeechEnd();
      if (this.waitingForCaller()) this.silence.arm();
    }
  };
}
