/** Every check `voicebot doctor` runs, in the order its report lists them. */
import { adminTokenCheck } from "./doctor-admin.ts";
import type { Check } from "./doctor-check.ts";
import { callCheck } from "./doctor-call.ts";
import { circuitsCheck, storeQueueCheck } from "./doctor-circuits.ts";
import { configChecks } from "./doctor-config.ts";
import { firewallCheck } from "./doctor-firewall.ts";
import { pbxCallCheck } from "./doctor-pbx-call.ts";
import { pbxControlCheck, providersCheck } from "./doctor-providers.ts";
import { serviceChecks } from "./doctor-service.ts";
import { systemChecks } from "./doctor-system.ts";

export { systemChecks };

export function allChecks(o: { syntheticCall: boolean }): Check[] {
  return [
    ...systemChecks(),
    ...configChecks(),
    adminTokenCheck,
    ...serviceChecks(),
    firewallCheck,
    providersCheck,
    circuitsCheck,
    storeQueueCheck,
    pbxControlCheck,
    ...(o.syntheticCall ? [callCheck, pbxCallCheck] : []),
  ];
}
