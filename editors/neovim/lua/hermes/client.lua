---@mod hermes.client The connection to hermesd
---
--- hermes.nvim keeps no logic of its own: everything (providers, models,
--- configuration, sessions, streaming) lives in the hermesd daemon. This
--- module owns the single connection to it, made with Neovim's built-in LSP
--- client (|vim.lsp.start()|) and never attached to a file buffer.
---
--- It also keeps a small cache of what the statusline and the chat header
--- show (the configured provider and model), updated on
--- `hermes/configChanged`, and lets other modules subscribe to the daemon's
--- notifications with |hermes.client.on()|.

local config = require("hermes.config")

local M = {}

--- Major protocol version this plugin speaks (docs/protocol.md).
M.PROTOCOL_VERSION = 2

--- How to install the daemon while it is not on a package registry: from a
--- checkout, in the daemon's words (`hermesd.INSTALL_HINT`, which
--- tests/test_names.py compares), said here since no daemon runs to say it.
M.INSTALL_HINT = "from a checkout of hermesd: `pip install .` there (`pipx install .` keeps it"
  .. " apart from other programs); it is not on a package registry yet"

--- Name of the LSP client (see |vim.lsp.get_clients()|).
M.NAME = "hermesd"

local has_011 = vim.fn.has("nvim-0.11") == 1

local state = {
  ---@type integer?
  id = nil,
  ready = false,
  ---@type string? why the last start failed or the client stopped
  failure = nil,
  ---@type boolean the server said it is hermesd, starting (not yet initialised)
  starting = false,
  ---@type fun(client: vim.lsp.Client?, err: string?)[]
  waiting = {},
  ---@type table? initialize result's serverInfo
  server_info = nil,
  ---@type integer?
  protocol_version = nil,
  current = { provider = "", model = "", label = "" },
  ---@type table? effective configuration from hermes/getConfig
  settings = nil,
  ---@type table? built-in defaults from hermes/getConfig
  defaults = nil,
  ---@type table[]? every config key and its rule, from hermes/describeConfig
  described = nil,
}

---@type table<string, table<integer, function>>
local listeners = {}
local next_listener = 0

--- Subscribe to an event. Events: `chatDelta`, `configChanged`,
--- `providersChanged` (the daemon's notifications, with their params),
--- `ready` (handshake done) and `exit` (the daemon stopped; `code`, `reason`).
---@param event string
---@param fn function
---@return fun() unsubscribe
function M.on(event, fn)
  next_listener = next_listener + 1
  local key = next_listener
  listeners[event] = listeners[event] or {}
  listeners[event][key] = fn
  return function()
    listeners[event][key] = nil
  end
end

local function emit(event, ...)
  for _, fn in pairs(listeners[event] or {}) do
    local ok, err = pcall(fn, ...)
    if not ok then
      vim.notify(("hermes: %s handler failed: %s"):format(event, err), vim.log.levels.ERROR)
    end
  end
end

--- Call a method of a |vim.lsp.Client| on 0.10 (`client.request(...)`) and
--- 0.11+ (`client:request(...)`) alike.
local function invoke(client, method, ...)
  if has_011 then
    return client[method](client, ...)
  end
  return client[method](...)
end

--- Turn a JSON-RPC error (or anything else) into one line of text.
---@param err any
---@return string
function M.format_error(err)
  if type(err) == "table" then
    local msg = type(err.message) == "string" and err.message or vim.inspect(err)
    return (msg:gsub("\n+$", ""))
  end
  return tostring(err)
end

--- Set `tbl[a][b]...` for a dotted key, creating tables on the way.
local function set_dotted(tbl, key, value)
  local parts = vim.split(key, ".", { plain = true })
  local node = tbl
  for i = 1, #parts - 1 do
    if type(node[parts[i]]) ~= "table" then
      node[parts[i]] = {}
    end
    node = node[parts[i]]
  end
  node[parts[#parts]] = value
end

local function str(v)
  if type(v) == "string" then
    return v
  end
  return ""
end

local function on_config_changed(params)
  params = params or {}
  if type(params.key) == "string" then
    if state.settings then
      set_dotted(state.settings, params.key, params.value)
    end
    if params.key == "model.default" then
      state.current.model = str(params.value)
      state.current.label = str(params.label) -- the daemon's short form; "" from an older daemon
    elseif params.key == "model.provider" then
      state.current.provider = str(params.value)
    elseif params.key == "model" and type(params.value) == "table" then
      state.current.provider = str(params.value.provider)
      state.current.model = str(params.value.default)
      state.current.label = ""
    end
  end
  emit("configChanged", params)
  pcall(vim.api.nvim_exec_autocmds, "User", { pattern = "HermesConfigChanged", data = params, modeline = false })
  pcall(vim.cmd.redrawstatus, { bang = true })
end

--- Handlers for the daemon's notifications, registered on the client.
local handlers = {
  -- `hermesd --stdio` says so before it starts a daemon (the shared one, or in its own process),
  -- which can take longer than `server.initialize_timeout_ms` on a busy machine.
  ["window/logMessage"] = function(err, params, ctx, cfg)
    if type(params) == "table" and type(params.message) == "string"
      and params.message:find("^hermesd %S+: starting ") and ctx and ctx.client_id == state.id then
      state.starting = true
    end
    return vim.lsp.handlers["window/logMessage"](err, params, ctx, cfg)
  end,
  ["hermes/chatDelta"] = function(_, params)
    emit("chatDelta", params or {})
  end,
  ["hermes/configChanged"] = function(_, params)
    on_config_changed(params)
  end,
  ["hermes/providersChanged"] = function(_, params)
    emit("providersChanged", params or {})
    pcall(vim.api.nvim_exec_autocmds, "User", { pattern = "HermesProvidersChanged", data = params, modeline = false })
  end,
}

--- JSON-RPC params: an empty Lua table would be encoded as `[]`.
local function as_params(params)
  if params == nil or (type(params) == "table" and next(params) == nil) then
    return vim.empty_dict()
  end
  return params
end

local function flush_waiters(client, err)
  local waiting = state.waiting
  state.waiting = {}
  for _, cb in ipairs(waiting) do
    local ok, cb_err = pcall(cb, client, err)
    if not ok then
      vim.notify("hermes: " .. tostring(cb_err), vim.log.levels.ERROR)
    end
  end
end

--- Refresh the cached configuration (statusline, header, :HermesSet completion).
---@param cb? fun(err: any, result: table?)
function M.refresh_config(cb)
  if not state.described then
    M.request("hermes/describeConfig", {}, function(err, result)
      if not err and type(result) == "table" then
        state.described = result.keys
      end
    end)
  end
  M.request("hermes/getConfig", {}, function(err, result)
    if not err and type(result) == "table" then
      state.settings = result.config
      state.defaults = result.defaults
      local model = type(result.config) == "table" and result.config.model or {}
      if type(model) == "table" then
        state.current.provider = str(model.provider)
        state.current.model = str(model.default)
      end
      state.current.label = str(type(result.current) == "table" and result.current.label or nil)
      pcall(vim.cmd.redrawstatus, { bang = true })
      emit("configChanged", {})
    end
    if cb then
      cb(err, result)
    end
  end)
end

--- The executable `server.cmd` runs, as found on PATH (or the command itself).
---@return string
function M.executable()
  local cmd = config.options.server.cmd
  if type(cmd) ~= "table" then
    return "the server.cmd function"
  end
  local exe = vim.fn.exepath(cmd[1])
  return exe ~= "" and exe or cmd[1]
end

--- The message for a server that is not hermesd (it hung, printed something
--- else, or answered as another program): names the executable and the fix.
---@param problem string what the executable did, e.g. "did not answer initialize within 5 s"
---@return string
function M.wrong_server_message(problem)
  return ("hermes: %s %s: it is not hermesd's language server (the registry's `hermesd` is another program)."
    .. " Install this one %s, and point the plugin at it:"
    .. " require('hermes').setup({ server = { cmd = { '/path/to/hermesd-lsp', '--stdio' } } })"):format(
    M.executable(),
    problem,
    M.INSTALL_HINT
  )
end

--- Stop the client as not hermesd, with `msg` as the reason everybody waiting gets.
local function refuse(client, msg)
  state.failure = msg
  vim.schedule(function()
    invoke(client, "stop", true)
    vim.notify(msg, vim.log.levels.ERROR)
    flush_waiters(nil, msg)
  end)
end

local function on_init(client, result)
  local hermes = vim.tbl_get(result or {}, "capabilities", "experimental", "hermes") or {}
  local version = tonumber(hermes.protocolVersion)
  state.server_info = (result or {}).serverInfo
  state.protocol_version = version
  if not version then
    local name = vim.tbl_get(result or {}, "serverInfo", "name")
    refuse(client, M.wrong_server_message(("answered initialize as %s, without a hermes protocol version"):format(
      type(name) == "string" and ("%q"):format(name) or "a server"
    )))
    return
  end
  if math.floor(version) ~= M.PROTOCOL_VERSION then
    refuse(client, ("hermes: the daemon speaks protocol version %s but this plugin needs version %d;"
      .. " update hermesd-lsp and hermes.nvim together (in their checkout: git pull, then `pip install .` again)"):format(tostring(version), M.PROTOCOL_VERSION))
    return
  end
  vim.schedule(function()
    if state.id ~= client.id then
      return
    end
    state.ready = true
    state.failure = nil
    flush_waiters(client, nil)
    emit("ready", client)
    M.refresh_config()
  end)
end

--- The last `hermesd: ...` line the daemon command wrote on stderr, which Neovim keeps only in the LSP log:
--- the forwarder's one line when it gives up on the shared daemon (docs/protocol.md, "When the daemon restarts").
---@return string?
local function last_stderr_line()
  local ok, path = pcall(vim.lsp.get_log_path)
  local file = ok and io.open(path, "rb")
  if not file then
    return nil
  end
  local size = file:seek("end")
  file:seek("set", math.max(0, size - 16384))
  local tail = file:read("*a") or ""
  file:close()
  local last
  for line in tail:gmatch('"stderr"%s+"(hermesd: .-)\\n"') do
    last = line
  end
  return last
end

local function on_exit(code, signal, client_id)
  vim.schedule(function()
    if client_id ~= state.id then
      return
    end
    local was_ready = state.ready
    state.id = nil
    state.ready = false
    local reason = state.failure
    if not reason then
      if was_ready then
        reason = ("hermes: hermesd exited (code %s%s)"):format(code, signal ~= 0 and (", signal " .. signal) or "")
        local said = code ~= 0 and last_stderr_line()
        if said then
          reason = reason .. ": " .. said
        end
      else
        reason = ("hermes: hermesd exited (code %s) before the handshake; run `%s` in a terminal to see why,"
          .. " or read the log with :lua vim.cmd.edit(vim.lsp.get_log_path())"):format(
          code,
          type(config.options.server.cmd) == "table" and table.concat(config.options.server.cmd, " ")
            or "the server command"
        )
      end
    end
    state.failure = reason
    if was_ready and code ~= 0 then
      vim.notify(reason, vim.log.levels.ERROR)  -- not an editor quitting: say so now, not at the next request
    end
    flush_waiters(nil, reason)
    emit("exit", code, reason)
  end)
end

--- Returns the running client, if any.
---@return vim.lsp.Client?
function M.get()
  if not state.id then
    return nil
  end
  local client = vim.lsp.get_client_by_id(state.id)
  if not client or invoke(client, "is_stopped") then
    return nil
  end
  return client
end

--- Whether the handshake is done.
---@return boolean
function M.is_ready()
  return state.ready and M.get() ~= nil
end

--- Start the daemon unless it is running. Returns the client id, or nil and
--- the reason.
---@return integer? client_id
---@return string? err
function M.start()
  if M.get() then
    return state.id
  end
  local opts = config.options.server
  local cmd = opts.cmd
  if type(cmd) == "table" and vim.fn.executable(cmd[1]) ~= 1 then
    local msg = ("hermes: cannot start the daemon: %q is not executable. Install it %s;"
      .. " or set server.cmd in require('hermes').setup()"):format(cmd[1], M.INSTALL_HINT)
    state.failure = msg
    return nil, msg
  end
  state.ready = false
  state.failure = nil
  state.starting = false
  if opts.shared == false and type(cmd) == "table" and not vim.tbl_contains(cmd, "--no-shared") then
    cmd = vim.list_extend(vim.deepcopy(cmd), { "--no-shared" })
  end
  local lsp_config = {
    name = M.NAME,
    cmd = cmd,
    cmd_env = opts.cmd_env,
    init_options = { clientName = ("neovim %s"):format(tostring(vim.version())) },
    -- The daemon registers textDocument/inlineCompletion when completion is configured (hermes.completion).
    capabilities = { textDocument = { inlineCompletion = { dynamicRegistration = true } } },
    handlers = handlers,
    on_init = on_init,
    on_exit = on_exit,
    -- hermesd needs no workspace and no text documents.
    workspace_folders = nil,
    root_dir = nil,
  }
  local id
  local ok, err = pcall(function()
    if has_011 then
      id = vim.lsp.start(lsp_config, {
        attach = false,
        reuse_client = function(client)
          return client.name == M.NAME and not client:is_stopped()
        end,
      })
    else
      -- 0.10: vim.lsp.start() always attaches a buffer; start_client() does not.
      id = vim.lsp.start_client(lsp_config)
    end
  end)
  if not ok or not id then
    local msg = "hermes: could not start hermesd: " .. tostring(err or "vim.lsp.start() returned nothing")
    state.failure = msg
    return nil, msg
  end
  state.id = id
  -- A reused client (another module started it) may already be initialised.
  local client = vim.lsp.get_client_by_id(id)
  if client and client.initialized and not state.ready then
    local caps = client.server_capabilities or {}
    on_init(client, { capabilities = { experimental = caps.experimental }, serverInfo = client.server_info })
  end
  -- Another program of the same name may hang or print something that is not LSP;
  -- hermesd says it is starting (and bounds the shared daemon's start itself: 15 s, then in-process).
  local timeout = opts.initialize_timeout_ms
  vim.defer_fn(function()
    local c = vim.lsp.get_client_by_id(id)
    if state.id ~= id or state.ready or state.failure or state.starting or not c or c.initialized then
      return
    end
    refuse(c, M.wrong_server_message(("did not answer the LSP initialize request within %g s"):format(timeout / 1000)))
  end, timeout)
  return id
end

--- Call `cb(client)` once the daemon is running and the handshake is done,
--- or `cb(nil, err)` when it cannot be started. `cb` may run at once.
---@param cb fun(client: vim.lsp.Client?, err: string?)
function M.ensure(cb)
  if M.is_ready() then
    cb(M.get())
    return
  end
  local _, err = M.start()
  if err then
    cb(nil, err)
    return
  end
  table.insert(state.waiting, cb)
end

--- Wait (blocking, processing events) until the daemon is ready.
---@param timeout_ms? integer
---@return vim.lsp.Client? client
---@return string? err
function M.wait_ready(timeout_ms)
  timeout_ms = timeout_ms or config.options.server.init_timeout_ms
  local done, client, err = false, nil, nil
  M.ensure(function(c, e)
    done, client, err = true, c, e
  end)
  if not done then
    vim.wait(timeout_ms, function()
      return done
    end, 10)
  end
  if not done then
    return nil, ("hermes: hermesd did not finish the handshake within %d ms"):format(timeout_ms)
  end
  return client, err
end

--- Send a request once the daemon is ready. `cb(err, result)` gets the
--- JSON-RPC error (a table with `code` and `message`) or the result.
---@param method string
---@param params table?
---@param cb fun(err: table?, result: any)
---@param on_sent? fun(client: vim.lsp.Client, request_id: integer)
---@param bufnr? integer
function M.request(method, params, cb, on_sent, bufnr)
  M.ensure(function(client, start_err)
    if not client then
      cb({ code = -32099, message = start_err or "hermes: hermesd is not running" }, nil)
      return
    end
    local ok, request_id = invoke(client, "request", method, as_params(params), function(err, result)
      cb(err, result)
    end, bufnr)
    if not ok then
      cb({ code = -32099, message = "hermes: the connection to hermesd is closed" }, nil)
      return
    end
    if on_sent then
      on_sent(client, request_id)
    end
  end)
end

--- Send a request and wait for its answer (for :checkhealth and completion).
---@param method string
---@param params table?
---@param timeout_ms? integer
---@return any result
---@return string? err
function M.request_sync(method, params, timeout_ms)
  timeout_ms = timeout_ms or config.options.server.request_timeout_ms
  local client, err = M.wait_ready()
  if not client then
    return nil, err
  end
  local response, reason = invoke(client, "request_sync", method, as_params(params), timeout_ms)
  if not response then
    return nil, ("hermes: %s got no answer (%s after %d ms)"):format(method, reason or "connection closed", timeout_ms)
  end
  if response.err then
    return nil, M.format_error(response.err)
  end
  return response.result
end

--- Cancel a request with `$/cancelRequest`.
---@param client vim.lsp.Client
---@param request_id integer
function M.cancel_request(client, request_id)
  return invoke(client, "cancel_request", request_id)
end

--- Stop the daemon (it is started again on the next command).
function M.stop()
  local client = M.get()
  if client then
    invoke(client, "stop")
  end
end

--- The configured provider and model, as last seen (both may be ""), and the
--- daemon's short label for the model ("" when it sent none).
---@return {provider: string, model: string, label: string}
function M.current()
  return state.current
end

--- The effective configuration and the defaults, as last fetched.
---@return table? settings
---@return table? defaults
function M.settings()
  return state.settings, state.defaults
end

--- The config keys and their rules as the daemon described them
--- (`hermes/describeConfig`), or nil before it answered.
---@return table[]?
function M.config_description()
  return state.described
end

--- What the handshake told about the daemon.
---@return {server_info: table?, protocol_version: integer?, failure: string?}
function M.info()
  return {
    server_info = state.server_info,
    protocol_version = state.protocol_version,
    failure = state.failure,
  }
end

return M
