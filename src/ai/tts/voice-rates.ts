/**
 * One instance of a voice per sample rate (TextToSpeech.atRate), made the first time a call asks
 * for that rate and shared by the instances of every rate, so a voice family holds one each.
 */
export class VoiceRates<V> {
  private readonly voices = new Map<number, V>();

  /** `voice` already speaks at `rate` (a provider's voice, made at its first rate). */
  static of<V>(rate: number, voice: V): VoiceRates<V> {
    const rates = new VoiceRates<V>();
    rates.voices.set(rate, voice);
    return rates;
  }

  /** The voice at `rate`, made by `make` the first time. */
  at(rate: number, make: () => V): V {
    let voice = this.voices.get(rate);
    if (voice === undefined) {
      voice = make();
      this.voices.set(rate, voice);
    }
    return voice;
  }
}
