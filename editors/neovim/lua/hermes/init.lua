---@mod hermes hermes.nvim: a thin Neovim client of hermesd
---
--- Public API. The commands in `plugin/hermes.lua` call these functions;
--- users call `setup()` and `statusline()`. All model, provider and
--- configuration logic lives in the hermesd daemon (see |hermes-protocol|).
---
--- >lua
---   require("hermes").setup({
---     server = { cmd = { "hermesd", "--stdio" } },
---     chat = { layout = "float" },
---     keymaps = { send = "<CR>", stop = "<C-c>", close = "q" },
---   })
--- <

local M = {}

--- Whether this Neovim is recent enough; says so once when it is not.
---@return boolean
function M.check_version()
  if vim.fn.has("nvim-0.10") == 1 then
    return true
  end
  vim.api.nvim_echo({ { "hermes.nvim requires Neovim 0.10 or newer", "ErrorMsg" } }, true, {})
  return false
end

--- Configure the plugin (optional: the defaults work when `hermesd` is on
--- $PATH). See |hermes-config|.
---@param opts? table
function M.setup(opts)
  if not M.check_version() then
    return
  end
  require("hermes.config").setup(opts)
  if vim.fn.has("nvim-0.11") == 1 then
    require("hermes.completion").setup()
  end
end

--- `:HermesCompletion [on|off|toggle|status]`: ghost-text completion from
--- hermesd for this Neovim (see |hermes-completion|).
---@param arg? string
function M.completion(arg)
  local completion = require("hermes.completion")
  arg = vim.trim(arg or "")
  if arg == "" or arg == "toggle" then
    completion.enable()
  elseif arg == "on" or arg == "off" then
    completion.enable(arg == "on")
  elseif arg == "status" then
    local _, line = completion.status()
    vim.notify("hermes: " .. line, vim.log.levels.INFO)
  else
    vim.notify("hermes: usage: :HermesCompletion [on|off|toggle|status]", vim.log.levels.ERROR)
  end
end

--- `:HermesChat [prompt]`: open (or reuse) the chat buffer and send `prompt`
--- if given. With a range, the lines of the current buffer are sent along
--- with the file name and filetype.
---@param opts? {prompt?: string, line1?: integer, line2?: integer, range?: integer, bufnr?: integer}
function M.chat(opts)
  opts = opts or {}
  local chat = require("hermes.chat")
  require("hermes.context").note(vim.api.nvim_get_current_buf()) -- #buffer means the buffer you are in
  local message = opts.prompt
  if opts.range and opts.range > 0 then
    local buf = opts.bufnr or vim.api.nvim_get_current_buf()
    if buf == chat.state.buf then
      -- A range inside the chat buffer itself: send those lines as they are.
      message = table.concat(vim.api.nvim_buf_get_lines(buf, opts.line1 - 1, opts.line2, false), "\n")
    else
      message = chat.selection_message(buf, opts.line1, opts.line2, opts.prompt)
      chat.state.carried = { buf = buf, line1 = opts.line1, line2 = opts.line2 } -- :HermesApply replaces these lines
    end
  end
  chat.open(message)
end

--- `:HermesNew [prompt]`: start a new session in the chat buffer.
---@param prompt? string
function M.new(prompt)
  local chat = require("hermes.chat")
  chat.new_session()
  chat.open(prompt)
end

--- `:HermesStop`: stop the running reply (its partial text stays).
function M.stop()
  require("hermes.chat").stop()
end

--- `:HermesRetry`: send the last message again after a retryable error (the daemon restarted).
function M.retry()
  require("hermes.chat").retry()
end

--- `:HermesModel`: pick a model from the daemon's picker.
---@param opts {default: boolean?}?  default: the choice is the default for new chats too
function M.model(opts)
  require("hermes.picker").pick(opts and opts.default)
end

--- Parse a `:HermesSet` value: JSON when it parses (`1.5`, `null`, `true`,
--- `"text"`, `{"order": ["x"]}`), the text as typed otherwise.
---@param text string
---@return any
function M.parse_value(text)
  local ok, value = pcall(vim.json.decode, text)
  if ok and value ~= nil then
    return value
  end
  return text
end

local function show_value(value)
  if value == vim.NIL or value == nil then
    return "null"
  end
  if type(value) == "table" then
    return vim.json.encode(value)
  end
  return tostring(value)
end

--- `:HermesSet {key} {value}` (`reset`: back to the default). The daemon
--- validates; its message is shown when it refuses.
---@param key string
---@param value_text? string
---@param reset? boolean
---@param cb? fun(err: table?, result: table?)
function M.set(key, value_text, reset, cb)
  local client = require("hermes.client")
  local params
  if reset then
    params = { key = key, reset = true }
  else
    if value_text == nil or vim.trim(value_text) == "" then
      local described = M.describe_key(key)
      if described and (described.type == "boolean" or described.type == "enum") then
        -- A key with a few values (the daemon's rule): choose one.
        vim.ui.select(M.config_values(key), { prompt = ("Hermes: %s"):format(key), kind = "hermes.setting" }, function(choice)
          if choice then
            M.set(key, choice, false, cb)
          end
        end)
        return
      end
      vim.notify("hermes: usage: :HermesSet {key} {value}  (or :HermesSet! {key} to reset it)", vim.log.levels.ERROR)
      return
    end
    params = { key = key, value = M.parse_value(vim.trim(value_text)) }
  end
  client.request("hermes/setConfig", params, function(err, result)
    if err then
      vim.notify("hermes: " .. client.format_error(err), vim.log.levels.ERROR)
    else
      result = result or {}
      vim.notify(("hermes: %s = %s"):format(result.key or key, show_value(result.value)), vim.log.levels.INFO)
    end
    if cb then
      cb(err, result)
    end
  end)
end

--- All keys to offer for completion: those the daemon describes
--- (`hermes/describeConfig`) and those its configuration holds.
---@return string[]
function M.config_keys()
  local client = require("hermes.client")
  local keys, seen = {}, {}
  local function add(k)
    if not seen[k] then
      seen[k] = true
      table.insert(keys, k)
    end
  end
  for _, described in ipairs(client.config_description() or {}) do
    add(described.key)
  end
  local _, defaults = client.settings()
  for section, values in pairs(type(defaults) == "table" and defaults or {}) do
    if type(values) == "table" and not vim.islist(values) then
      for name in pairs(values) do
        add(section .. "." .. name)
      end
    end
  end
  table.sort(keys)
  return keys
end

--- The daemon's description of `key` (`hermes/describeConfig`), or nil.
---@param key string
---@return table?
function M.describe_key(key)
  for _, described in ipairs(require("hermes.client").config_description() or {}) do
    if described.key == key then
      return described
    end
  end
end

--- Values to offer for `key`, from the daemon's description of it: true and
--- false for a boolean, its allowed values, its default, and null when null is a value.
---@param key string
---@return string[]
function M.config_values(key)
  local described = M.describe_key(key)
  if not described then
    return {}
  end
  local values = described.type == "boolean" and { "true", "false" } or {}
  for _, v in ipairs(described.enum or {}) do
    table.insert(values, v == "" and '""' or v)
  end
  if not described.enum and described.type ~= "boolean" and type(described.default) ~= "table" and described.default ~= nil
      and described.default ~= vim.NIL and described.default ~= "" then
    table.insert(values, tostring(described.default))
  end
  if described.nullable then
    table.insert(values, "null")
  end
  return values
end

--- Completion for `:HermesSet`.
---@param arglead string
---@param cmdline string
---@return string[]
function M.complete_set(arglead, cmdline)
  local args = vim.split(cmdline, "%s+", { trimempty = true })
  local completing_key = #args <= 1 or (#args == 2 and not cmdline:match("%s$"))
  if completing_key then
    return vim.tbl_filter(function(k)
      return vim.startswith(k, arglead)
    end, M.config_keys())
  end
  return vim.tbl_filter(function(v)
    return vim.startswith(v, arglead)
  end, M.config_values(args[2]))
end

--- `:HermesDoctor`: the daemon's checks in a scratch buffer.
function M.doctor()
  require("hermes.doctor").run()
end

--- For the statusline: the configured model (`model.default`), or "" before
--- the daemon answered. A path or an id longer than ~40 characters is shown
--- as the daemon's short label (the chat header shows the full id). Kept up
--- to date by `hermes/configChanged`.
---
--- >lua
---   vim.o.statusline = "%f %= %{v:lua.require'hermes'.statusline()}"
--- <
---@return string
function M.statusline()
  local ok, client = pcall(require, "hermes.client")
  if not ok then
    return ""
  end
  local current = client.current()
  if current.label and current.label ~= "" then
    return current.label
  end
  return current.model or ""
end

return M
