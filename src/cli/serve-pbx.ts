/**
 * The PBX side of `serve` beyond the media listeners: the AMI and ESL control connections, the
 * hand-off built on them, the dialplan's call directory, and tenant resolution for new calls.
 */
import { CallDirectory, formatNextStep } from "../call/call-directory.ts";
import { PbxHandOff } from "../call/hand-off.ts";
import type { CallsApi } from "../admin/api.ts";
import type { Config } from "../config/schema.ts";
import type { Tenants } from "../config/tenant.ts";
import type { Logger } from "../log.ts";
import { AmiClient } from "../transports/ami.ts";
import { EslClient } from "../transports/esl.ts";
import { EslMediaControl } from "../transports/esl-media-control.ts";
import type { FreeswitchMediaControl } from "../transports/freeswitch-control.ts";

export interface PbxControl {
  readonly directory: CallDirectory;
  readonly handOff: PbxHandOff;
  readonly media: FreeswitchMediaControl | null;
  readonly callsApi: CallsApi;
  /** Canonical tenant id for an id a PBX sent (null: none given); null = refuse the call. */
  resolveTenant(id: string | null): string | null;
  /** For /healthz and /metrics: null = not configured. */
  status(): { ami: boolean | null; esl: boolean | null };
  stop(): Promise<void>;
}

export function startPbxControl(config: Config, tenants: Tenants, log: Logger): PbxControl {
  const directory = new CallDirectory();
  const ami = config.ami ? new AmiClient({ ...config.ami, log: log.child("ami") }) : null;
  const esl = config.esl ? new EslClient({ ...config.esl, log: log.child("esl") }) : null;
  ami?.start();
  esl?.start();
  const media = esl ? new EslMediaControl(esl, log.child("esl")) : null;
  const warned = new Set<string>();
  const resolveTenant = (id: string | null): string | null => {
    if (id === null) return tenants.default.id;
    const known = tenants.find(id);
    if (known) return known.id;
    if (config.unknownTenant === "reject") return null;
    if (!warned.has(id) && warned.size < 100) {
      warned.add(id);
      log.warn("unknown tenant: its calls go to the default tenant (UNKNOWN_TENANT=reject refuses them)", { tenant: id });
    }
    return tenants.default.id;
  };
  return {
    directory,
    handOff: new PbxHandOff({ ami, esl, directory, log: log.child("hand-off") }),
    media,
    resolveTenant,
    callsApi: {
      register: (uuid, r) => {
        const tenant = resolveTenant(r.tenant);
        return tenant === null ? null : directory.register(uuid, { callerNumber: r.callerNumber, dnis: r.dnis, tenant });
      },
      next: (uuid) => formatNextStep(directory.next(uuid)),
    },
    status: () => ({ ami: ami ? ami.connected : null, esl: esl ? esl.connected : null }),
    stop: async () => {
      await Promise.all([ami?.stop(), esl?.stop()]);
    },
  };
}
