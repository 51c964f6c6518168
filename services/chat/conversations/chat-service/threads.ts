import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type {
  ChatService,
  CreateThreadRequest,
  CreateThreadResponseSchema,
  DeleteThreadRequest,
  DeleteThreadResponseSchema,
  UpdateThreadRequest,
  UpdateThreadResponseSchema,
} from "#gen/supportext/chat/v1/chat_pb.js";
import { decodePageToken, encodePageToken, pageSizeOf } from "#kit/paging/index.js";
import { requirePrincipal } from "#kit/propagation/index.js";
import type { ThreadCursor } from "../thread-store.js";
import { messageToProto, threadToProto } from "../to-proto.js";
import type { TurnDeps } from "../turn/turn-events.js";
import { NO_USER_LIMITS, refusedOverLimit } from "../user-limits.js";
import { requireAgent } from "./agents.js";
import { threadTitle } from "./thread-title.js";

const THREADS = "chat.threads";
const MESSAGES = "chat.messages";
const ID = /^[A-Za-z0-9._-]{1,64}$/;

type ThreadMethods = Pick<
  ServiceImpl<typeof ChatService>,
  "createThread" | "listThreads" | "getThread" | "listMessages" | "updateThread" | "deleteThread"
>;

/**
 * The caller's threads and their messages. Another user's thread is `not_found`, never
 * `permission_denied`: its existence is not disclosed.
 */
export function threadMethods(
  deps: Pick<TurnDeps, "threads" | "turns" | "agents" | "logger" | "limits">,
): ThreadMethods {
  return {
    createThread: (req, ctx) => createThread(deps, req, ctx),
    updateThread: (req, ctx) => updateThread(deps, req, ctx),
    deleteThread: (req, ctx) => deleteThread(deps, req, ctx),

    async listThreads(req, ctx) {
      const principal = requirePrincipal(ctx);
      const limit = pageSizeOf(req.pageSize, { defaultSize: 50, maxSize: 100 });
      const after = decodePageToken(THREADS, req.pageToken, isThreadCursor);
      const agentId = req.agentId.trim();
      const rows = await deps.threads.list(principal.userId, {
        limit,
        ...(agentId ? { agentId } : {}),
        ...(after ? { after } : {}),
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        threads: page.map(threadToProto),
        nextPageToken:
          rows.length > limit && last
            ? encodePageToken<ThreadCursor>(THREADS, { updatedUs: last.updated_us, id: last.id })
            : "",
      };
    },

    async getThread(req, ctx) {
      const principal = requirePrincipal(ctx);
      const thread = await deps.threads.get(principal.userId, req.threadId);
      if (!thread) throw new ConnectError(`thread ${req.threadId} not found`, Code.NotFound);
      return { thread: threadToProto(thread) };
    },

    async listMessages(req, ctx) {
      const principal = requirePrincipal(ctx);
      const thread = await deps.threads.get(principal.userId, req.threadId);
      if (!thread) throw new ConnectError(`thread ${req.threadId} not found`, Code.NotFound);
      const limit = pageSizeOf(req.pageSize, { defaultSize: 50, maxSize: 200 });
      const afterSeq = decodePageToken(`${MESSAGES}:${thread.id}`, req.pageToken, isSeq);
      const rows = await deps.threads.messages(thread.id, {
        limit,
        ...(afterSeq !== undefined ? { afterSeq } : {}),
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      // A message waiting for the user's yes shows its question (docs/chat.md, "Confirmation before destruction").
      const open = await deps.turns.openConfirmations(
        page.filter((m) => m.status === "awaiting_confirmation").map((m) => m.id),
      );
      return {
        messages: page.map((m) => messageToProto(m, open.get(m.id))),
        nextPageToken:
          rows.length > limit && last ? encodePageToken(`${MESSAGES}:${thread.id}`, last.seq) : "",
      };
    },
  };
}

function isThreadCursor(p: unknown): p is ThreadCursor {
  const c = p as ThreadCursor | null;
  return (
    typeof c === "object" &&
    c !== null &&
    Number.isSafeInteger(c.updatedUs) &&
    typeof c.id === "string" &&
    c.id.length <= 64
  );
}

function isSeq(p: unknown): p is number {
  return typeof p === "number" && Number.isSafeInteger(p) && p >= 0;
}

/**
 * A new thread of the caller's with an agent that exists for them. A user already at the
 * threads-per-minute limit is refused before the agent registry is asked; the count under the
 * user's lock at `create` decides.
 */
async function createThread(
  deps: Pick<TurnDeps, "threads" | "agents" | "logger" | "limits">,
  req: CreateThreadRequest,
  ctx: HandlerContext,
): Promise<MessageInitShape<typeof CreateThreadResponseSchema>> {
  const principal = requirePrincipal(ctx);
  const agentId = req.agentId.trim();
  if (!ID.test(agentId))
    throw new ConnectError("agent_id: required (letters, digits, . _ -)", Code.InvalidArgument);
  const title = threadTitle(req.title, { required: false });
  const limits = deps.limits ?? NO_USER_LIMITS;
  await refusedOverLimit(deps.logger, principal.userId, () =>
    deps.threads.refuseOverLimit(principal.userId, limits),
  );
  await requireAgent(deps.agents, ctx, agentId);
  const thread = await refusedOverLimit(deps.logger, principal.userId, () =>
    deps.threads.create(principal.userId, agentId, title, limits),
  );
  return { thread: threadToProto(thread) };
}

/** Renames one of the caller's threads (docs/chat.md, "Renaming and deleting a thread"). */
async function updateThread(
  deps: Pick<TurnDeps, "threads">,
  req: UpdateThreadRequest,
  ctx: HandlerContext,
): Promise<MessageInitShape<typeof UpdateThreadResponseSchema>> {
  const principal = requirePrincipal(ctx);
  if (!req.threadId) throw new ConnectError("thread_id: required", Code.InvalidArgument);
  const title = threadTitle(req.title, { required: true });
  const thread = await deps.threads.rename(principal.userId, req.threadId, title);
  if (!thread) throw new ConnectError(`thread ${req.threadId} not found`, Code.NotFound);
  return { thread: threadToProto(thread) };
}

/**
 * Deletes one of the caller's threads for good, unless a turn of it is running (docs/chat.md,
 * "Renaming and deleting a thread"). Logged with the user and thread, never a title or message.
 */
async function deleteThread(
  deps: Pick<TurnDeps, "threads" | "logger">,
  req: DeleteThreadRequest,
  ctx: HandlerContext,
): Promise<MessageInitShape<typeof DeleteThreadResponseSchema>> {
  const principal = requirePrincipal(ctx);
  if (!req.threadId) throw new ConnectError("thread_id: required", Code.InvalidArgument);
  const outcome = await deps.threads.delete(principal.userId, req.threadId);
  if (outcome === "not_found") throw new ConnectError(`thread ${req.threadId} not found`, Code.NotFound);
  if (outcome === "running") {
    throw new ConnectError(
      "a turn is running on this thread: wait for its answer, then delete it",
      Code.FailedPrecondition,
    );
  }
  deps.logger.info({ user_id: principal.userId, thread_id: req.threadId }, "thread deleted");
  return {};
}
