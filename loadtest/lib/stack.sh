# Sourced by loadtest/run-all.sh: one hermetic stack at a time, started with npm start's command
# (node scripts/start.mjs: the compiled tree) in a fresh DATA_DIR on free loopback ports, with
# generated secrets. Sets IDENTITY CHAT AGENT GATEWAY MCP and the secrets for k6; stack_stop leaves
# no process.

STACK_PID=""
STACK_PORTS=()

random_secret() { node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("base64url"))'; }

# Five ports free at the same moment (all listened on together, then released).
free_ports() {
  node -e '
    const net = require("node:net");
    const servers = [0, 1, 2, 3, 4].map(() => net.createServer());
    Promise.all(servers.map((s) => new Promise((r) => s.listen(0, "127.0.0.1", r)))).then(() => {
      process.stdout.write(servers.map((s) => s.address().port).join(" "));
      servers.forEach((s) => s.close());
    });'
}

# stack_start <name> [VAR=value ...]: starts and waits for "stack ready" (at most 300 s: on a loaded
# machine the runner itself gives up first, when a service has not opened its port within 60 s).
stack_start() {
  local name=$1
  shift
  local dir="$WORK/$name"
  mkdir -p "$dir/data"
  read -r -a STACK_PORTS <<<"$(free_ports)"
  export CHAT="http://127.0.0.1:${STACK_PORTS[0]}" AGENT="http://127.0.0.1:${STACK_PORTS[1]}"
  export GATEWAY="http://127.0.0.1:${STACK_PORTS[2]}" MCP="http://127.0.0.1:${STACK_PORTS[3]}"
  export IDENTITY="http://127.0.0.1:${STACK_PORTS[4]}"
  export AGENT_CLIENT_SECRET GATEWAY_CLIENT_SECRET ADMIN_PASSWORD LOAD_USER_PASSWORD
  AGENT_CLIENT_SECRET=$(random_secret)
  GATEWAY_CLIENT_SECRET=$(random_secret)
  ADMIN_PASSWORD="admin-$(random_secret)"
  LOAD_USER_PASSWORD="load-$(random_secret)"
  STACK_LOG="$dir/stack.log"
  # Only what node needs from the shell: the product's own settings must not leak in.
  env -i PATH="$PATH" HOME="${HOME:-/tmp}" ${TMPDIR:+TMPDIR="$TMPDIR"} \
    NODE_ENV=development HOST=127.0.0.1 DATA_DIR="$dir/data" LOG_FORMAT=json LOG_LEVEL=info \
    CHAT_PORT="${STACK_PORTS[0]}" AGENT_PORT="${STACK_PORTS[1]}" \
    GATEWAY_PORT="${STACK_PORTS[2]}" MCP_PORT="${STACK_PORTS[3]}" \
    IDENTITY_PORT="${STACK_PORTS[4]}" IDENTITY_URL="$IDENTITY" \
    AGENT_CLIENT_SECRET="$AGENT_CLIENT_SECRET" GATEWAY_CLIENT_SECRET="$GATEWAY_CLIENT_SECRET" \
    MCP_CLIENT_SECRET="$(random_secret)" CHAT_CLIENT_SECRET="$(random_secret)" \
    SEED_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
    "$@" node scripts/start.mjs >"$STACK_LOG" 2>&1 &
  STACK_PID=$!
  local deadline=$((SECONDS + 300))
  until grep -q '"msg":"stack ready"' "$STACK_LOG" 2>/dev/null; do
    if ! kill -0 "$STACK_PID" 2>/dev/null || ((SECONDS > deadline)); then
      echo "loadtest: the $name stack did not become ready; its log ends:" >&2
      tail -n 30 "$STACK_LOG" >&2
      stack_stop
      return 1
    fi
    sleep 0.3
  done
  echo "loadtest: $name stack ready ($(grep -o '"ready_ms":[0-9]*' "$STACK_LOG" | head -1)) on ports ${STACK_PORTS[*]}"
}

# One SIGTERM to the runner: it drains every service (docs/architecture.md, "Stopping"). A runner
# still there after 30 s is killed; its services then stop on their closed IPC channel.
stack_stop() {
  [[ -n $STACK_PID ]] || return 0
  local pid=$STACK_PID
  STACK_PID=""
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "loadtest: the stack runner did not stop within 30 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  # No service may outlive the run: every port must be closed again.
  local port
  for port in "${STACK_PORTS[@]}"; do
    local tries=0
    while node -e 'const s=require("node:net").connect(+process.argv[1],"127.0.0.1");s.on("connect",()=>process.exit(0));s.on("error",()=>process.exit(1))' "$port"; do
      if ((++tries > 50)); then
        echo "loadtest: port $port still answers after the stack stopped" >&2
        return 1
      fi
      sleep 0.2
    done
  done
}
