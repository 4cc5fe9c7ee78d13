/** The token (ADMIN_TOKEN or the first-run one) and an optional name that signs ticket changes. */
import { useState } from "preact/hooks";
import { ApiError, request } from "../api.ts";
import { lang, pickLang, t } from "../i18n.ts";

export function SignIn(props: { onSignedIn: (session: { who: string }) => void }) {
  const [token, setToken] = useState("");
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      props.onSignedIn(await request<{ who: string }>("POST", "/api/session", { token: token.trim(), name: name.trim() }));
    } catch (err) {
      const status = err instanceof ApiError ? err.status : 0;
      setError(status === 401 ? t("signIn.wrong") : status === 429 ? t("signIn.tooMany") : err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <form onSubmit={submit} class="card">
        <h1>voicebot</h1>
        <p class="muted">{t("signIn.help")}</p>
        <label>
          {t("signIn.token")}
          <input type="password" name="token" autocomplete="current-password" required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        </label>
        <label>
          {t("signIn.name")}
          <input type="text" name="name" autocomplete="name" maxLength={64} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        {error !== null && <p class="error" role="alert">{error}</p>}
        <div class="row">
          <button type="submit" disabled={busy}>{t("signIn.submit")}</button>
          <button type="button" class="link" onClick={() => pickLang(lang() === "fr" ? "en" : "fr")}>{lang() === "fr" ? "English" : "Français"}</button>
        </div>
      </form>
    </main>
  );
}
