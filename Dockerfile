# syntax=docker/dockerfile:1
# One image for every program of the product, compiled (`npm run build`), on Node 24 LTS:
#   docker run support-ext <program> [arguments…]
# <program>: identity, chat, agent, mcp-gateway, mcp-server, stack (all five under the runner, the
# default), or a tool: login, rotate-keys, audit. docker-compose.yml runs one service per container
# (`services/<service>/main.ts`, the name it used when the image ran the sources, is accepted too).
# No TypeScript, no tsx and no development dependency in the final image; it runs as the `node` user.
# docs/development.md, "Production build". The three stages on one base: Node 24 LTS, Debian 12 slim.

# 1. Compile: every dependency (tsc is a development one), then the build into /app/dist.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# No install scripts: the `node` development dependency would only fetch a second Node 24 binary
# (what npm scripts use on machines without one); tsc needs no script.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY gen ./gen
COPY services ./services
RUN npm run build

# 2. The production dependencies of the build's package.json and lockfile, nothing else.
FROM node:24-bookworm-slim AS production-dependencies
WORKDIR /app
COPY --from=build /app/dist/package.json /app/dist/package-lock.json /app/dist/.npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# 3. What runs: the compiled code and its production dependencies, owned by root, read-only to the
# `node` user the programs run as; DATA_DIR (embedded databases, the MCP server's checkpoint key)
# is the one place it writes: mount a volume there.
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    DATA_DIR=/data
WORKDIR /app
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080 8081 8082 8083 8084
# /healthz of the service this container runs (every service for `stack`), on the port it reads
# from its settings; start-up may wait for PostgreSQL and the identity service.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "services/stack/healthcheck.js"]
ENTRYPOINT ["node", "services/stack/run.js"]
CMD ["stack"]
