---@mod hermes.completion Ghost-text completion from hermesd
---
--- The daemon serves LSP 3.18's `textDocument/inlineCompletion` and registers
--- it with this Neovim (`client/registerCapability`) when completion is
--- configured (`completion.provider`, `completion.model`). What to complete,
--- when, from which model, and with which template is the daemon's; this
--- module shows the answer as ghost text and sends the buffer it needs.
---
--- The buffer you type in is attached to hermesd's client once the daemon has
--- offered completion (Neovim syncs it, incrementally).
---
--- Neovim 0.11: the text is drawn with extmarks (the first line inline at the
--- cursor, the rest as virtual lines below), with insert-mode mappings to
--- accept, accept a word, cycle and dismiss (|hermes-completion|). Every
--- keystroke asks again; the request it supersedes is cancelled
--- (`$/cancelRequest`) and the daemon closes that upstream stream.
---
--- Neovim 0.12+: |vim.lsp.inline_completion| is used when present (the buffer
--- is attached to the client and Neovim draws and accepts). Untested here:
--- only 0.11 can be installed on the test machines.

local config = require("hermes.config")
local client_mod = require("hermes.client")

local M = {}

local METHOD = "textDocument/inlineCompletion"

local api = vim.api
local ns = api.nvim_create_namespace("hermes.completion")
M.ns = ns

local state = {
  ---@type boolean the user's switch (:HermesCompletion on|off), from completion.enabled
  enabled = nil,
  ---@type {client: vim.lsp.Client, id: integer}? the request in flight
  pending = nil,
  ---@type string? the key (buffer, tick, cursor) of the last request, so one keystroke asks once
  asked = nil,
  ---@type table? the suggestion on screen: buf, row, col (where the ghost starts), items, index, text, start/end
  shown = nil,
  ---@type string? the daemon's last error, shown once and in the status
  last_error = nil,
  notified_error = nil,
  ---@type boolean the native 0.12 client is in use
  native = false,
}

local function enabled()
  if state.enabled == nil then
    state.enabled = config.options.completion.enabled ~= false
  end
  return state.enabled
end

--- The running client if the daemon registered inline completion with it.
---@return vim.lsp.Client? client
---@return boolean registered
local function daemon()
  local client = client_mod.is_ready() and client_mod.get() or nil
  if not client then
    return nil, false
  end
  local ok, yes = pcall(function()
    return client:supports_method(METHOD)
  end)
  return client, ok and yes or false
end

--- One line for the statusline, `:HermesCompletion status` and `:checkhealth`.
---@return string kind "on"|"off"|"unconfigured"|"down"|"error"
---@return string line
function M.status()
  if not enabled() then
    return "off", "completion off (:HermesCompletion on)"
  end
  local client, registered = daemon()
  if not client then
    local failure = client_mod.info().failure
    return "down", "completion: hermesd is not running" .. (failure and (" (" .. failure:gsub("^hermes: ", "") .. ")") or "")
  end
  if not registered then
    return "unconfigured", "completion not set up: set completion.provider and completion.model (:HermesSet, or hermesd setup local)"
  end
  if state.last_error then
    return "error", "completion: " .. state.last_error
  end
  return "on", "completion on"
end

-- ------------------------------------------------------------------ buffers

--- A buffer holding a file (not the chat, help, a terminal or a prompt).
local function is_document(buf)
  return api.nvim_buf_is_valid(buf) and vim.bo[buf].buftype == "" and api.nvim_buf_get_name(buf) ~= ""
end

--- Attach the buffer to hermesd's client: Neovim then sends it (didOpen, and
--- incremental didChange flushed before each request). Only once the daemon
--- has offered completion, so a chat-only setup sends no buffer.
local function attach(client, buf)
  if not vim.lsp.buf_is_attached(buf, client.id) then
    vim.lsp.buf_attach_client(buf, client.id)
  end
end

-- ------------------------------------------------------------------ ghost text

--- Tell the daemon what became of a suggestion (`hermes/completionEvent`: shown or rejected; its id is
--- the argument of the item's command). Accepting runs that command instead.
local function report(event, item)
  local client = client_mod.get()
  local id = item and type(item.command) == "table" and (item.command.arguments or {})[1]
  if client and type(id) == "string" then
    client:notify("hermes/completionEvent", { id = id, event = event })
  end
end

--- Accepted: run the item's command (the daemon's `hermes.completionAccepted`, workspace/executeCommand).
local function report_accepted(item, buf)
  local client = client_mod.get()
  if client and type(item.command) == "table" then
    client:exec_cmd(item.command, { bufnr = buf })
  end
end

local function clear()
  if state.shown and api.nvim_buf_is_valid(state.shown.buf) then
    api.nvim_buf_clear_namespace(state.shown.buf, ns, 0, -1)
  end
  state.shown = nil
end

local function cancel()
  local p = state.pending
  state.pending = nil
  if p and not p.client:is_stopped() then
    p.client:cancel_request(p.id)
  end
end

--- Byte column of an LSP position on its line.
local function byte_col(buf, pos, encoding)
  return vim.lsp.util._get_line_byte_from_position(buf, pos, encoding)
end

--- The item's text and the buffer span it replaces, as byte positions.
local function resolve(buf, item, row, col, encoding)
  local text = type(item.insertText) == "table" and item.insertText.value or item.insertText or ""
  local srow, scol, erow, ecol = row, col, row, col
  if type(item.range) == "table" and item.range.start then
    srow = item.range.start.line
    scol = byte_col(buf, item.range.start, encoding)
    erow = item.range["end"].line
    ecol = byte_col(buf, item.range["end"], encoding)
  end
  return text, srow, scol, erow, ecol
end

--- Draw the suggestion at the cursor: what the item adds beyond what is typed.
local function render()
  local s = state.shown
  api.nvim_buf_clear_namespace(s.buf, ns, 0, -1)
  local item = s.items[s.index]
  local text, srow, scol = resolve(s.buf, item, s.row, s.col, s.encoding)
  -- The part of the item already in the buffer (range start .. cursor) is not drawn again.
  if srow == s.row and scol <= s.col then
    local typed = api.nvim_buf_get_text(s.buf, s.row, scol, s.row, s.col, {})[1] or ""
    if text:sub(1, #typed) == typed then
      text = text:sub(#typed + 1)
    end
  end
  s.text = text
  if text == "" then
    return
  end
  local lines = vim.split(text, "\n", { plain = true })
  local virt_lines = {}
  for i = 2, #lines do
    table.insert(virt_lines, { { lines[i], "HermesGhostText" } })
  end
  api.nvim_buf_set_extmark(s.buf, ns, s.row, s.col, {
    virt_text = { { lines[1], "HermesGhostText" } },
    virt_text_pos = "inline",
    virt_lines = #virt_lines > 0 and virt_lines or nil,
    hl_mode = "combine",
  })
  if not s.reported[s.index] then
    s.reported[s.index] = true
    report("shown", item)
  end
end

--- Whether a suggestion is on screen.
---@return boolean
function M.visible()
  return state.shown ~= nil and (state.shown.text or "") ~= ""
end

--- Whether a request is waiting for the daemon's answer.
---@return boolean
function M.busy()
  return state.pending ~= nil
end

--- The suggestion's remaining text (for tests and statuslines).
---@return string?
function M.ghost_text()
  return M.visible() and state.shown.text or nil
end

--- Typing what the suggestion shows keeps the rest on screen until the daemon's
--- next answer (from its cache) replaces it; anything else hides it.
local function keep_or_clear(buf, row, col)
  local s = state.shown
  if s and s.buf == buf and s.row == row and col >= s.col and (s.text or "") ~= "" then
    local typed = api.nvim_buf_get_text(buf, row, s.col, row, col, {})[1] or ""
    if s.text:sub(1, #typed) == typed and #typed < #s.text then
      local item = vim.deepcopy(s.items[s.index])
      item.insertText, item.range = s.text:sub(#typed + 1), nil
      state.shown = vim.tbl_extend("force", s, { col = col, items = { item }, index = 1, reported = { true } })
      render()
      return
    end
  end
  clear()
end

local function failed(message)
  state.last_error = (message or "?"):gsub("\n.*", "")
  if state.notified_error ~= state.last_error then
    state.notified_error = state.last_error -- once per distinct message, not per keystroke
    vim.notify("hermes: completion: " .. state.last_error, vim.log.levels.WARN)
  end
end

--- Ask the daemon for the cursor's suggestion (the previous request is cancelled).
function M.trigger()
  if state.native or not enabled() then
    return
  end
  local buf, win = api.nvim_get_current_buf(), api.nvim_get_current_win()
  if not is_document(buf) then
    return
  end
  local cursor = api.nvim_win_get_cursor(win)
  local row, col = cursor[1] - 1, cursor[2]
  local key = table.concat({ buf, api.nvim_buf_get_changedtick(buf), row, col }, ":")
  if key == state.asked then
    return
  end
  state.asked = key
  cancel()
  keep_or_clear(buf, row, col)
  local client, registered = daemon()
  if not client or not registered then
    return -- the status says why; nothing is asked of a daemon that has not offered completion
  end
  attach(client, buf)
  local params = vim.lsp.util.make_position_params(win, client.offset_encoding)
  params.context = { triggerKind = 2 } -- Automatic
  local ok, id
  ok, id = client:request(METHOD, params, function(err, result)
    if state.pending and state.pending.id == id then
      state.pending = nil
    end
    if err then
      if err.code ~= -32800 and err.code ~= -32801 then -- cancelled (superseded) or content modified: not failures
        failed(client_mod.format_error(err))
      end
      return
    end
    state.last_error = nil
    local items = type(result) == "table" and (result.items or result) or {}
    if state.asked ~= key or #items == 0 or api.nvim_get_current_buf() ~= buf then
      return
    end
    state.shown = {
      buf = buf, row = row, col = col, items = items, index = 1, encoding = client.offset_encoding, reported = {},
    }
    render()
  end, buf)
  if ok then
    state.pending = { client = client, id = id }
  end
end

--- Insert `text` at the suggestion's anchor, replacing its span, and put the cursor after it.
local function insert(s, text, srow, scol, erow, ecol)
  local lines = vim.split(text, "\n", { plain = true })
  api.nvim_buf_set_text(s.buf, srow, scol, erow, ecol, lines)
  local last_row = srow + #lines - 1
  local last_col = (#lines == 1 and scol or 0) + #lines[#lines]
  api.nvim_win_set_cursor(0, { last_row + 1, last_col })
end

--- Accept the whole suggestion. Returns false when there is none.
---@return boolean
function M.accept()
  if not M.visible() then
    return false
  end
  local s = state.shown
  local item = s.items[s.index]
  local text, srow, scol, erow, ecol = resolve(s.buf, item, s.row, s.col, s.encoding)
  clear()
  cancel()
  insert(s, text, srow, scol, erow, ecol)
  state.asked = nil
  report_accepted(item, s.buf)
  return true
end

--- Accept the suggestion up to the end of its next word (or line break).
---@return boolean
function M.accept_word()
  if not M.visible() then
    return false
  end
  local s = state.shown
  local text = s.text
  local word = text:match("^\n") or text:match("^%s*[%w_]+") or text:match("^%s*[^%w_%s]+") or text:match("^%s+") or text
  clear()
  cancel()
  insert(s, word, s.row, s.col, s.row, s.col)
  if #word == #text then
    report_accepted(s.items[s.index], s.buf)
  end
  -- The rest stays on screen; the next request (the daemon's cache answers it) replaces it.
  local rest = text:sub(#word + 1)
  if rest ~= "" then
    local cursor = api.nvim_win_get_cursor(0)
    local item = vim.deepcopy(s.items[s.index])
    item.insertText, item.range = rest, nil
    state.shown = vim.tbl_extend("force", s, { row = cursor[1] - 1, col = cursor[2], items = { item }, index = 1, reported = { true } })
    render()
  end
  state.asked = nil
  return true
end

--- Show the next (or previous) of the daemon's suggestions.
---@param step? integer 1 (default) or -1
---@return boolean
function M.next(step)
  if not M.visible() then
    return false
  end
  local s = state.shown
  s.index = (s.index - 1 + (step or 1)) % #s.items + 1
  render()
  return true
end

--- Hide the suggestion (until the next keystroke) and cancel the request in flight.
---@return boolean
function M.dismiss()
  local was = M.visible() or state.pending ~= nil
  if M.visible() then
    report("rejected", state.shown.items[state.shown.index])
  end
  cancel()
  clear()
  return was
end

-- ------------------------------------------------------------------ 0.12+: Neovim's own client

local function native_available()
  return vim.lsp.inline_completion ~= nil and type(vim.lsp.inline_completion.enable) == "function"
end

--- Attach file buffers to hermesd's client and let vim.lsp.inline_completion draw and accept (untested: 0.12+).
local function start_native(client)
  for _, buf in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_is_loaded(buf) and is_document(buf) then
      attach(client, buf)
    end
  end
  vim.lsp.inline_completion.enable(enabled(), { client_id = client.id })
end

-- ------------------------------------------------------------------ mappings, switch, autocommands

--- Feed the mapping's own key when there is nothing to act on.
local function fallback(lhs)
  api.nvim_feedkeys(vim.keycode(lhs), "n", false)
end

local actions = {
  accept = function()
    if state.native then
      return vim.lsp.inline_completion.get()
    end
    return M.accept()
  end,
  accept_word = function()
    return M.accept_word()
  end,
  next = function()
    if state.native then
      vim.lsp.inline_completion.select({ count = 1 })
      return true
    end
    return M.next(1)
  end,
  prev = function()
    if state.native then
      vim.lsp.inline_completion.select({ count = -1 })
      return true
    end
    return M.next(-1)
  end,
  dismiss = function()
    return M.dismiss()
  end,
}

local mapped = {}
local subscriptions = {}

local function map_keys()
  for lhs in pairs(mapped) do
    pcall(vim.keymap.del, "i", lhs)
  end
  mapped = {}
  for name, lhs in pairs(config.options.completion.keymaps) do
    if lhs and actions[name] then
      vim.keymap.set("i", lhs, function()
        if not actions[name]() then
          fallback(lhs)
        end
      end, { desc = "hermes completion: " .. name:gsub("_", " ") })
      mapped[lhs] = true
    end
  end
end

--- Turn completion on or off for this Neovim (nil: toggle).
---@param on? boolean
function M.enable(on)
  if on == nil then
    on = not enabled()
  end
  state.enabled = on
  if not on then
    M.dismiss()
  end
  if state.native then
    local client = client_mod.get()
    pcall(vim.lsp.inline_completion.enable, on, client and { client_id = client.id } or nil)
  end
  local _, line = M.status()
  vim.notify("hermes: " .. line, vim.log.levels.INFO)
end

--- Set up the autocommands and mappings (called from |hermes.setup()|, and
--- by plugin/hermes.lua at startup).
function M.setup()
  state.enabled = nil
  api.nvim_set_hl(0, "HermesGhostText", { link = "Comment", default = true })
  local group = api.nvim_create_augroup("hermes.completion", { clear = true })
  api.nvim_create_autocmd({ "TextChangedI", "TextChangedP", "CursorMovedI", "InsertEnter" }, {
    group = group,
    desc = "hermes: ask hermesd for a suggestion at the cursor",
    callback = function()
      M.trigger()
    end,
  })
  api.nvim_create_autocmd({ "InsertLeave", "BufLeave" }, {
    group = group,
    desc = "hermes: hide the suggestion",
    callback = function()
      state.asked = nil
      M.dismiss()
    end,
  })
  for _, unsubscribe in ipairs(subscriptions) do
    unsubscribe()
  end
  subscriptions = {}
  if native_available() then
    table.insert(subscriptions, client_mod.on("ready", function(client)
      state.native = true
      start_native(client)
    end))
    api.nvim_create_autocmd("BufEnter", {
      group = group,
      callback = function(ev)
        local client = client_mod.get()
        if state.native and client and is_document(ev.buf) then
          attach(client, ev.buf)
        end
      end,
    })
  end
  table.insert(subscriptions, client_mod.on("exit", function()
    state.pending, state.asked = nil, nil
    clear()
  end))
  map_keys()
end

return M
