/**
 * `${…}` in a PBX dialplan (Asterisk's pbx_substitute_variables, FreeSWITCH's
 * switch_channel_expand_variables): both expand innermost first, so the fakes need where the
 * reference opened at `start` closes, nested braces counted. Bundled into the binary with the fakes.
 */
export function variableEnd(text: string, start: number): number {
  let depth = 1;
  let j = start + 2;
  for (; j < text.length && depth > 0; j++) {
    if (text[j] === "{") depth++;
    else if (text[j] === "}") depth--;
  }
  return j;
}
