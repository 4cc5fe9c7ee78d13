/**
 * pbx.call's verdicts on the links the fakes do not break on their own: voicebot's record of the
 * call (missing greeting, a lost registration, an API that refuses the doctor) and the PBX's
 * hang-up cause. The e2e file (tests/e2e/doctor-pbx-call.test.ts) covers the rest through the fakes.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import type { AmiCallTrace } from "../../src/install/doctor-pbx-ami.ts";
import type { EslCallTrace } from "../../src/install/doctor-pbx-esl.ts";
import { judgeAsterisk, judgeFreeswitch, type VoicebotRecord } from "../../src/install/doctor-pbx-judge.ts";

const dir = mkdtempSync(join(tmpdir(), "voicebot-pbx-judge-"));
writeFileSync(join(dir, "voicebot.env"), "HTTP_HOST=127.0.0.1\nHTTP_PORT=9091\n");
const config = loadConfig({ config: join(dir, "voicebot.env"), dataDir: dir }, {});
rmSync(dir, { recursive: true, force: true });
const ctx = { config, tenant: "default", where: "Asterisk at 192.0.2.5:5038" };

const ran: AmiCallTrace = {
  broke: null, originate: { success: true, reason: "4" }, apps: ["Answer", "Set", "AudioSocket"],
  uuid: "0b5a3c1e-4f1a-4d7e-9a51-7d0f5b0a1c2d", join: "joined", hangup: { cause: "16", text: "Normal Clearing" },
};
const streamed: EslCallTrace = { target: "loopback/8000/default", broke: null, job: "+OK 7c1e…", uuid: "0b5a3c1e-4f1a-4d7e-9a51-7d0f5b0a1c2d", stream: "+OK Success", hangup: "NORMAL_CLEARING" };
const record: VoicebotRecord = { caller: "voicebot-doctor", tenant: "default", startedAt: 1000, endedAt: 4000, turns: [{ speaker: "bot", startedAt: 1240 }] };

describe("pbx.call verdicts", () => {
  test("a whole call passes with its figures", () => {
    const r = judgeAsterisk(ran, record, ctx);
    expect(r).toMatchObject({ id: "pbx.call", status: "PASS" });
    expect(r.detail).toBe("Asterisk at 192.0.2.5:5038: Local/777@voicebot answered, voicebot registered caller voicebot-doctor tenant default, greeted after 240 ms, ended cleanly");
    expect(judgeFreeswitch(streamed, record, ctx).status).toBe("PASS");
  });

  test("no greeting, a registration that did not stick, a refused read-back, a bad hang-up: each named", () => {
    const cases: [string, ReturnType<typeof judgeAsterisk>, RegExp][] = [
      ["no greeting", judgeAsterisk(ran, { ...record, turns: [] }, ctx), /never greeted it/],
      ["lost registration", judgeAsterisk(ran, { ...record, caller: null }, ctx), /as caller \(none\) tenant default, not caller voicebot-doctor.*registration did not reach it/],
      ["other tenant", judgeFreeswitch(streamed, { ...record, tenant: "acme" }, ctx), /tenant acme, not caller voicebot-doctor tenant default/],
      ["read-back refused", judgeAsterisk(ran, "voicebot's admin API refused the doctor (HTTP 401)", ctx), /the call ran, but voicebot's admin API refused the doctor/],
      ["ended badly", judgeAsterisk({ ...ran, hangup: { cause: "17", text: "User busy" } }, record, ctx), /greeted after 240 ms, but the call hung up with cause 17 User busy/],
      ["FreeSWITCH ended badly", judgeFreeswitch({ ...streamed, hangup: "DESTINATION_OUT_OF_ORDER" }, record, ctx), /hung up with DESTINATION_OUT_OF_ORDER/],
      ["registration refused", judgeAsterisk({ ...ran, join: "tenant \"x\" is unknown (UNKNOWN_TENANT=reject)" }, record, ctx), /voicebot refused the registration: tenant "x" is unknown/],
      ["another extension 8000", judgeFreeswitch({ ...streamed, stream: null }, null, ctx), /never ran voicebot's uuid_audio_stream/],
      ["not answered", judgeAsterisk({ ...ran, originate: { success: false, reason: "5" } }, null, ctx), /was not answered \(OriginateResponse Reason 5\)/],
    ];
    for (const [name, r, expected] of cases) {
      expect({ name, status: r.status, detail: r.detail }).toMatchObject({ name, status: "FAIL", detail: expect.stringMatching(expected) });
      expect(r.fix ?? "").not.toBe("");
    }
  });
});
