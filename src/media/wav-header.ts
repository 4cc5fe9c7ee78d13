/**
 * The canonical 44-byte RIFF/WAVE header of 16-bit PCM, for every WAV voicebot writes: mono for
 * FreeSWITCH's mod_sndfile (it reads the rate from it), stereo for a call's two sides in the console.
 */
export const WAV_HEADER_BYTES = 44;

export function writeWavHeader(view: DataView, sampleRate: number, dataBytes: number, channels: 1 | 2 = 1): void {
  const ascii = (offset: number, text: string): void => {
    for (let i = 0; i < text.length; i++) view.setUint8(offset + i, text.charCodeAt(i));
  };
  ascii(0, "RIFF");
  view.setUint32(4, 36 + dataBytes, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2 * channels, true);
  view.setUint16(32, 2 * channels, true);
  view.setUint16(34, 16, true);
  ascii(36, "data");
  view.setUint32(40, dataBytes, true);
}
