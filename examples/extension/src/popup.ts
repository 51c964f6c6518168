import { type Api, createApi, normalizeServerUrl, openSignInWindow } from "./api.js";
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
  login.show(serverUrl);
}

async function logIn(input: LoginInput): Promise<void> {
  // Opened now, in the click: a window opened after network calls would be blocked as a pop-up.
  const signInWindow = openSignInWindow();
  let serverUrl: string;
  try {
    serverUrl = normalizeServerUrl(input.serverUrl);
  } catch (err) {
    signInWindow?.close();
    status.error(err instanceof Error ? err.message : String(err));
    return;
  }
  status.info("Signing in — finish in the window that opened…");
  await prefs.set(SERVER_KEY, serverUrl);
  try {
    api = await createApi(serverUrl, signInWindow);
    const user = await api.session.signIn();
    status.clear();
    await openWorkspace(api, user);
  } catch (err) {
    // A cancelled or failed sign-in says so itself; anything else is explained as a problem.
    signInWindow?.close();
    if (err instanceof SessionEndedError) status.error(err.message);
    else await showProblem(err);
  }
}

async function openWorkspace(current: Api, user: SignedInUser): Promise<void> {
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
