/**
 * The console: sign-in, then the live view, the history, tickets, health and the browser test
 * call, one hash route each. Every figure comes from the JSON API under /api/.
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { get, onSignedOut, request } from "./api.ts";
import { followTenant, onLangChange, t } from "./i18n.ts";
import { Shell } from "./parts/shell.tsx";
import { CallPage } from "./pages/call.tsx";
import { CallsPage } from "./pages/calls.tsx";
import { HealthPage } from "./pages/health.tsx";
import { LivePage } from "./pages/live.tsx";
import { SignIn } from "./pages/sign-in.tsx";
import { TicketPage } from "./pages/ticket.tsx";
import { TicketsPage } from "./pages/tickets.tsx";
import { TryPage } from "./pages/try.tsx";
import { useRoute, type Route } from "./router.ts";
import type { TenantView } from "./types.ts";

interface Session {
  who: string;
}

function View({ route }: { route: Route }) {
  const [section = "live", id] = route.parts;
  switch (section) {
    case "calls":
      return id === undefined ? <CallsPage params={route.params} /> : <CallPage id={id} />;
    case "tickets":
      return id === undefined ? <TicketsPage params={route.params} /> : <TicketPage id={id} />;
    case "health":
      return <HealthPage />;
    case "try":
      return <TryPage />;
    default:
      return <LivePage />;
  }
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [, setLangTick] = useState(0);
  const route = useRoute();
  useEffect(() => onLangChange(() => setLangTick((n) => n + 1)), []);
  useEffect(() => onSignedOut(() => setSession(null)), []);
  useEffect(() => {
    request<Session>("GET", "/api/session").then(setSession, () => setSession(null));
  }, []);
  useEffect(() => {
    if (!session) return;
    get<{ tenants: TenantView[] }>("/api/tenants").then((r) => {
      if (r.tenants[0] !== undefined) followTenant(r.tenants[0].language);
    }, () => null);
  }, [session]);
  useEffect(() => {
    document.title = `voicebot · ${t(route.parts[0] === undefined ? "nav.live" : navKey(route.parts[0]))}`;
  });
  if (session === undefined) return <p class="loading">{t("loading")}</p>;
  if (session === null) return <SignIn onSignedIn={setSession} />;
  return (
    <Shell who={session.who} section={route.parts[0] ?? "live"} onSignOut={() => setSession(null)}>
      <View route={route} />
    </Shell>
  );
}

function navKey(section: string): "nav.live" | "nav.calls" | "nav.tickets" | "nav.health" | "nav.try" {
  switch (section) {
    case "calls":
      return "nav.calls";
    case "tickets":
      return "nav.tickets";
    case "health":
      return "nav.health";
    case "try":
      return "nav.try";
    default:
      return "nav.live";
  }
}

const root = document.getElementById("app");
if (root !== null) render(<App />, root);
