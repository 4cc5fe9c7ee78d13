/**
 * POST /api/pbx/check: the test call through the PBX, asked for by apply-on-pbx.sh once it has set
 * the PBX up, so that the admin reads doctor's verdict on the PBX's own console. PBX_TOKEN opens
 * it (the script carries no other secret): it can only place that one test call, one at a time.
 * The answer is plain text, as doctor prints it: "PASS  pbx.call  …" and, unless it passed, the fix.
 */

export const PBX_CHECK_PATH = "/api/pbx/check";

export interface PbxCheckOutcome {
  status: "PASS" | "WARN" | "FAIL";
  detail: string;
  fix?: string;
}

/** Places the call and judges it (given only when AMI or ESL is configured). */
export type PbxCheckRunner = () => Promise<PbxCheckOutcome>;

function text(body: string, status: number, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...headers } });
}

export class PbxCheckRoute {
  /** A second request while a call is under way shares its verdict rather than calling again. */
  private running: Promise<PbxCheckOutcome> | null = null;

  constructor(private readonly runner: PbxCheckRunner | null) {}

  async handle(req: Request): Promise<Response> {
    if (req.method !== "POST") return text(`method not allowed: POST ${PBX_CHECK_PATH}\n`, 405, { allow: "POST" });
    if (this.runner === null) {
      return text("no PBX control is configured: set AMI_HOST (Asterisk) or ESL_HOST (FreeSWITCH) in voicebot.env, then restart voicebot\n", 404);
    }
    this.running ??= this.runner().catch((err: unknown) => ({ status: "FAIL" as const, detail: `the test call could not run: ${err instanceof Error ? err.message : String(err)}`, fix: "report this with `voicebot version` and `journalctl -u voicebot -n 50`" })).finally(() => {
      this.running = null;
    });
    const outcome = await this.running;
    const fix = outcome.status === "PASS" || !outcome.fix ? "" : `      → fix: ${outcome.fix}\n`;
    return text(`${outcome.status}  pbx.call  ${outcome.detail}\n${fix}`, 200);
  }
}
