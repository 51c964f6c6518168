import { Code, ConnectError } from "@connectrpc/connect";
import { type Api, createApi, normalizeServerUrl } from "./api.js";
import { persistentStore } from "./browser-stores.js";
import { h, replaceChildren } from "./dom.js";
import { describeProblem, explainUnreachable, isNetworkFailure } from "./problems.js";
import { SessionEndedError } from "./refusals.js";
import { Session, type SignedInUser } from "./session.js";
import { type LoginInput, LoginView } from "./views/login-view.js";
import { StatusLine } from "./views/status-line.js";
import { createWorkspace } from "./views/workspace.js";

const SERVER_KEY = "serverUrl";
const prefs = persistentStore();
const status = new StatusLine();
const login = new LoginView(logIn);
const main = h("main", { id: "content" });
let api: Api | undefined;
let lastEmail = "";

/** Shows what went wrong; a session that ended goes back to the login form. */
async function showProblem(err: unknown): Promise<void> {
  const problem = isNetworkFailure(err)
    ? await explainUnreachable(
        api?.serverUrl ?? (await prefs.get<string>(SERVER_KEY)) ?? __DEFAULT_CHAT_URL__,
      )
    : err;
  status.error(describeProblem(problem));
  if (problem instanceof SessionEndedError) showLogin(api?.serverUrl ?? __DEFAULT_CHAT_URL__);
}

function showLogin(serverUrl: string): void {
  replaceChildren(main, login.el);
  login.show(serverUrl, lastEmail);
}

async function logIn(input: LoginInput): Promise<void> {
  let serverUrl: string;
  try {
    serverUrl = normalizeServerUrl(input.serverUrl);
  } catch (err) {
    status.error(err instanceof Error ? err.message : String(err));
    return;
  }
  status.info("Logging in…");
  lastEmail = input.email;
  await prefs.set(SERVER_KEY, serverUrl);
  try {
    api = await createApi(serverUrl);
    const user = await api.session.login(input.email, input.password);
    status.clear();
    await openWorkspace(api, user);
  } catch (err) {
    const ce = ConnectError.from(err);
    // Wrong credentials and throttling speak for themselves ("invalid email or password", "try again in N s").
    if (ce.code === Code.Unauthenticated || ce.code === Code.ResourceExhausted) status.error(ce.rawMessage);
    else await showProblem(err);
  }
}

async function openWorkspace(current: Api, user: SignedInUser): Promise<void> {
  lastEmail = user.email;
  const workspace = createWorkspace({
    api: current,
    user,
    prefs,
    onProblem: (err) => void showProblem(err),
    onLogout: () => {
      void current.session.logout().finally(() => {
        status.info("Logged out.");
        showLogin(current.serverUrl);
      });
    },
  });
  replaceChildren(main, workspace.el);
  await workspace.load();
}

async function boot(): Promise<void> {
  const stored = await Session.stored(prefs);
  if (!stored) {
    showLogin((await prefs.get<string>(SERVER_KEY)) ?? __DEFAULT_CHAT_URL__);
    return;
  }
  api = await createApi(stored.serverUrl);
  await openWorkspace(api, stored.user);
}

// Whatever fails, the popup says so rather than going blank.
window.addEventListener("error", (e) => status.error(`Unexpected error: ${e.message}`));
window.addEventListener("unhandledrejection", (e) =>
  status.error(`Unexpected error: ${describeProblem(e.reason)}`),
);

document.body.append(h("header", {}, h("h1", {}, "Support Assistant")), status.el, main);
boot().catch((err: unknown) => {
  void showProblem(err);
  if (!main.firstChild) showLogin(__DEFAULT_CHAT_URL__);
});
