/** The frame around every view: the navigation, the language switch, who is signed in, sign-out. */
import type { ComponentChildren } from "preact";
import { request } from "../api.ts";
import { lang, pickLang, t, type Key } from "../i18n.ts";
import { href } from "../router.ts";

const SECTIONS: [string, Key][] = [
  ["live", "nav.live"],
  ["calls", "nav.calls"],
  ["tickets", "nav.tickets"],
  ["health", "nav.health"],
  ["try", "nav.try"],
];

export function Shell(props: { who: string; section: string; onSignOut: () => void; children: ComponentChildren }) {
  const signOut = async (): Promise<void> => {
    await request("DELETE", "/api/session").catch(() => null);
    props.onSignOut();
  };
  return (
    <div class="shell">
      <header class="bar">
        <a class="brand" href={href("live")}>voicebot</a>
        <nav>
          {SECTIONS.map(([section, key]) => (
            <a key={section} href={href(section)} class={props.section === section ? "current" : undefined} data-nav={section}>
              {t(key)}
            </a>
          ))}
        </nav>
        <div class="account">
          <button type="button" class="link" data-lang onClick={() => pickLang(lang() === "fr" ? "en" : "fr")} title={t("lang.switch")}>
            {lang() === "fr" ? "EN" : "FR"}
          </button>
          <span>{props.who}</span>
          <button type="button" class="link" onClick={signOut} data-sign-out>{t("signOut")}</button>
        </div>
      </header>
      <main>{props.children}</main>
    </div>
  );
}
