/**
 * FreeSWITCH's answers to an ESL login, in words the admin can act on, and `doctor`'s one-shot
 * login check (the long-lived client is esl.ts).
 */
import type { Socket } from "bun";
import { EslDecoder } from "./esl-codec.ts";

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** What the admin reads when FreeSWITCH refuses the password (never the password itself). */
export function passwordRejected(address: string): string {
  return `FreeSWITCH ESL at ${address} rejected the password (-ERR invalid): set ESL_PASSWORD to the "password" param of event_socket.conf`;
}

export function aclRejected(address: string, localAddress: string): string {
  return (
    `FreeSWITCH ESL at ${address} refused this host by ACL (text/rude-rejection): add ${localAddress || "this host's address"} ` +
    `to the list named by "apply-inbound-acl" in event_socket.conf (acl.conf.xml), then reloadacl and reload mod_event_socket`
  );
}

export const badPassword = (password: string): boolean => password === "" || /[\r\n]/.test(password);

/** One-shot check for `doctor`: connect, authenticate, say how it went and how long it took. */
export function checkEslAuth(o: { host: string; port: number; password: string; timeoutMs: number }): Promise<{ ok: boolean; message: string; ms: number }> {
  const address = `${o.host}:${o.port}`;
  const started = performance.now();
  return new Promise((resolve) => {
    let socket: Socket<undefined> | null = null;
    let finished = false;
    const finish = (ok: boolean, message: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket?.end(ok ? "exit\n\n" : undefined);
      resolve({ ok, message, ms: Math.round(performance.now() - started) });
    };
    const timer = setTimeout(() => finish(false, `FreeSWITCH ESL at ${address} did not answer within ${o.timeoutMs} ms`), o.timeoutMs);
    if (badPassword(o.password)) return finish(false, "ESL password is empty or holds a line break");
    const decoder = new EslDecoder((message) => {
      if (message.contentType === "auth/request") socket?.write(`auth ${o.password}\n\n`);
      else if (message.contentType === "text/rude-rejection") finish(false, aclRejected(address, socket?.localAddress ?? ""));
      else if (message.contentType === "command/reply") {
        const accepted = (message.headers.get("Reply-Text") ?? "").startsWith("+OK");
        finish(accepted, accepted ? `authenticated to FreeSWITCH ESL at ${address}` : passwordRejected(address));
      }
    });
    Bun.connect({
      hostname: o.host,
      port: o.port,
      socket: {
        binaryType: "uint8array",
        open: (s) => void (finished ? s.terminate() : (socket = s)),
        data: (_s, chunk) => {
          try {
            decoder.push(chunk);
          } catch (error) {
            finish(false, `FreeSWITCH ESL at ${address} sent a malformed message: ${describe(error)}`);
          }
        },
        close: () => finish(false, `FreeSWITCH ESL at ${address} closed the connection before authentication`),
        connectError: (_s, error) => finish(false, `cannot connect to FreeSWITCH ESL at ${address}: ${error.message}`),
      },
    }).catch(() => {});
  });
}
