// The console's test-call module alone in a page, for tests/unit/console-test-call.test.ts:
// window.runCall(digits, url, captureAtDeviceRate) places a call, presses the digits once it is
// connected, and resolves with what the callbacks said when it ends.
import { startTestCall } from "../../../src/console/try-call/test-call.ts";

window.runCall = (digits, url = "/api/try-call", captureAtDeviceRate = false) =>
  new Promise((resolve) => {
    const seen = { callId: null, ended: null, error: null, maxOutDb: -200, maxInDb: -200, underruns: 0 };
    let call = null;
    const done = () => resolve({ ...seen, underruns: call ? call.underruns : 0 });
    startTestCall({
      url,
      captureAtDeviceRate,
      onCallId(id) {
        seen.callId = id;
        setTimeout(() => {
          for (const d of digits) call.sendDtmf(d);
        }, 200);
      },
      onEnded(reason) {
        seen.ended = reason;
        done();
      },
      onError(message) {
        seen.error = message;
        done();
      },
      onLevel(inDb, outDb) {
        seen.maxInDb = Math.max(seen.maxInDb, inDb);
        seen.maxOutDb = Math.max(seen.maxOutDb, outDb);
      },
    }).then((c) => (call = c));
  });
