import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { remainingMs } from "./call-deadline.js";
import { answerQuestion } from "./call-questions.js";
import { isModernRevision, type Prior, type ServerEra, type VersionPolicy } from "./server-era.js";
import { sharedSchemaValidator } from "./shared-schema-validator.js";

export interface OpenClientDeps {
  readonly url: URL;
  readonly clientVersion: string;
  readonly policy: VersionPolicy;
  /** What the MCP server speaks, shared by the gateway's sessions (`server-era.ts`). */
  readonly era: ServerEra;
  /** The bound of the discover probe (or 2025 initialize) when the connecting call has no deadline. */
  readonly callTimeoutMs: number;
  /** Every request's fetch: the caller's token and trace added (`authorized-fetch.ts`). */
  readonly fetch: (url: string | URL, init?: RequestInit) => Promise<Response>;
  readonly onError: (err: Error) => void;
}

export interface OpenedClient {
  readonly client: Client;
  /** Whether the server's revision was adopted from another session's verdict (no probe of its own). */
  readonly adopted: boolean;
}

/**
 * One SDK client connected to the MCP server (docs/mcp-gateway.md, "Protocol revisions"): the
 * transport, the capabilities the gateway declares, and the revision it speaks — adopted from the
 * shared verdict when one fits the policy, else learned by this client's own probe.
 */
export async function openMcpClient(deps: OpenClientDeps): Promise<OpenedClient> {
  const transport = new StreamableHTTPClientTransport(deps.url, {
    fetch: deps.fetch,
    // A step-up challenge goes back to the caller (permission_denied): the gateway cannot widen
    // what the user's own token grants.
    onInsufficientScope: "throw",
    // The gateway reconnects on demand (next call); no background retry loops per client.
    reconnectionOptions: {
      maxRetries: 0,
      initialReconnectionDelay: 1000,
      maxReconnectionDelay: 1000,
      reconnectionDelayGrowFactor: 1,
    },
  });
  const { policy, era } = deps;
  const legacyPin = policy.kind === "pinned" && !isModernRevision(policy.version);
  const client = new Client(
    { name: "support-ext-mcp-gateway", version: deps.clientVersion },
    {
      jsonSchemaValidator: sharedSchemaValidator,
      // Form elicitation: the tools' questions to the user travel through (docs/mcp-gateway.md,
      // "Questions to the user"); the gateway never answers one by itself.
      capabilities: { elicitation: { form: {} } },
      inputRequired: { autoFulfill: false },
      versionNegotiation: {
        mode: policy.kind === "auto" ? "auto" : legacyPin ? "legacy" : { pin: policy.version },
      },
      // A 2025 revision pinned: the initialize handshake offers exactly that one.
      ...(legacyPin ? { supportedProtocolVersions: [policy.version] } : {}),
    },
  );
  client.onerror = deps.onError;
  client.setRequestHandler("elicitation/create", (request) => answerQuestion(request.params));
  // What the server speaks: adopted when known, else learned by this client's probe (another
  // client's probe in flight is waited for, twice at most).
  let prior: Prior | undefined;
  let probe: { done: () => void } | undefined;
  for (let waits = 0; !legacyPin; waits++) {
    const turn = era.turn();
    if ("wait" in turn && waits < 2) {
      await turn.wait;
      continue;
    }
    if ("prior" in turn) prior = adoptable(turn.prior, policy);
    if ("probe" in turn) probe = turn.probe;
    break;
  }
  try {
    // The discover probe (or 2025 initialize) waits within the connecting call's deadline.
    await client.connect(transport, {
      timeout: remainingMs(deps.callTimeoutMs),
      ...(prior ? { prior } : {}),
    });
    if (!prior && !legacyPin) era.learn(client);
  } catch (err) {
    await client.close().catch(() => undefined);
    throw err;
  } finally {
    probe?.done();
  }
  return { client, adopted: prior !== undefined };
}

/** The shared verdict, when it fits the policy (a pinned modern revision the server offered). */
function adoptable(prior: Prior, policy: VersionPolicy): Prior | undefined {
  if (policy.kind === "auto") return prior;
  return prior.kind === "modern" && prior.discover.supportedVersions.includes(policy.version)
    ? prior
    : undefined;
}
