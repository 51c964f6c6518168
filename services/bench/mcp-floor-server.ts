import * as http from "node:http";
import { toNodeHandler } from "@modelcontextprotocol/node";
import { createMcpHandler, McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";

/**
 * The MCP SDK's own floor (docs/performance.md, "Per-call breakdown: MCP server"): a stateless 2026-07-28 server built with the SDK v2 server
 * package and nothing else — one trivial tool, no auth, no database, no logging — served the way
 * the SDK documents for `node:http` (`createMcpHandler` + `toNodeHandler`). Its own process, so
 * the bench can read its CPU time like the real server's. `FLOOR_PORT` is where it listens.
 */
const TICKET = {
  id: 1,
  title: "Bench ticket",
  description: "small",
  status: "open",
  priority: "low",
  category: "general",
  assignee: null,
  created_by: "u-bench-admin",
  created_at: "2026-01-01T00:00:00.000Z",
  updated_at: "2026-01-01T00:00:00.000Z",
};

function createServer(): McpServer {
  const server = new McpServer({ name: "floor", version: "1.0.0" });
  server.registerTool(
    "get_ticket",
    {
      description: "Get one ticket by its number.",
      inputSchema: z.strictObject({ ticket_id: z.number().int().positive() }),
      annotations: { readOnlyHint: true },
    },
    async ({ ticket_id }) => {
      const ticket = { ...TICKET, id: ticket_id };
      return {
        content: [
          { type: "text", text: `Ticket #${ticket.id} "${ticket.title}": open, low, unassigned.` },
          { type: "text", text: JSON.stringify({ ticket }) },
        ],
        structuredContent: { ticket },
      };
    },
  );
  return server;
}

const serve = toNodeHandler(createMcpHandler(createServer, { legacy: "reject" }));
const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  if (req.url === "/readyz") {
    res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
    return;
  }
  void serve(req, res);
});
server.listen(Number(process.env.FLOOR_PORT ?? 0), "127.0.0.1");
process.once("SIGTERM", () => server.close(() => process.exit(0)));
