---@mod hermes.chat The chat buffer
---
--- One chat buffer (`hermes://chat`) per Neovim instance, reused by
--- |:HermesChat|. Its layout, top to bottom:
---
--- - a header line: provider, model and, after a Pareto Code reply, the model
---   the router picked (`routedModel`);
--- - the transcript: `## You` and `## Hermes` blocks, the reply streamed into
---   the last block from `hermes/chatDelta` notifications; under each ended
---   reply, virtual text: the daemon's footer (model, tokens, cost, context);
---   after the header line, the session's total and context meter;
--- - a separator line `──── Prompt (…) ────`;
--- - the prompt area: everything below the separator is the next message.
---
--- The daemon keeps the conversation (the session); this buffer only shows it.

local api = vim.api
local client = require("hermes.client")
local config = require("hermes.config")

local M = {}

local ns = api.nvim_create_namespace("hermes.chat")
-- The footers under replies and the session meter: virtual text, never buffer text (a reply's text stays its own).
local usage_ns = api.nvim_create_namespace("hermes.usage")

M.BUF_NAME = "hermes://chat"
M.SEPARATOR_PREFIX = "──── Prompt"

---@class hermes.Run  A reply being streamed.
---@field request_id? integer  JSON-RPC id of the hermes/chat request.
---@field client? vim.lsp.Client
---@field text string  Reply text received so far.
---@field nlines integer  Lines the reply occupies right above the separator.
---@field cancelling boolean
---@field done? boolean  The result (or a failure) was shown.
---@field generation integer  Session generation the reply belongs to.
---@field message string  What was sent (without its context), for Retry.
---@field attachments table[]  The context sent with it.

---@class hermes.ChatState
local S = {
  ---@type integer?
  buf = nil,
  ---@type string?
  session_id = nil,
  ---@type string? provider and model of the last reply
  provider = nil,
  model = nil,
  ---@type string? the daemon's short label for `model` (a path's file name), when it differs
  model_label = nil,
  ---@type string?
  routed_model = nil,
  ---@type {provider: string, model: string}? sent with the next message after the configured model changed
  override = nil,
  ---@type boolean? the model was chosen for this conversation (:HermesModel with it open): it keeps it when the default changes
  chosen = nil,
  ---@type integer?
  sep_id = nil,
  ---@type integer?
  header_id = nil,
  ---@type hermes.Run?
  running = nil,
  generation = 0,
  ---@type {buf: integer, line1: integer, line2: integer}? the lines the conversation is about (Apply's default)
  carried = nil,
  ---@type {message: string, attachments: table[]}? the last message, when the daemon's error said it can be sent again
  retry = nil,
  ---@type {total?: string, context?: string}? the session's usage in the daemon's words (UsageTotals.label, Usage.context)
  meter = nil,
}

--- The chat state (read-only for callers; tests look at it).
M.state = S

local function notify(msg, level)
  vim.notify("hermes: " .. msg, level or vim.log.levels.INFO)
end

local function valid_buf()
  return S.buf ~= nil and api.nvim_buf_is_valid(S.buf)
end

local function separator_text()
  local km = config.options.keymaps
  local hints = {}
  if km.send then
    table.insert(hints, km.send .. " send")
  end
  if km.stop then
    table.insert(hints, km.stop .. " stop")
  end
  if km.close then
    table.insert(hints, km.close .. " close")
  end
  local text = M.SEPARATOR_PREFIX
  if #hints > 0 then
    text = text .. " (" .. table.concat(hints, " · ") .. ")"
  end
  return text .. " ────"
end

local function place_separator_mark(row)
  S.sep_id = api.nvim_buf_set_extmark(S.buf, ns, row, 0, {
    id = S.sep_id,
    line_hl_group = "HermesSeparator",
  })
end

--- Row (0-based) of the separator line; recreated at the end when the user
--- deleted it.
---@return integer
local function sep_row()
  local buf = S.buf
  if S.sep_id then
    local pos = api.nvim_buf_get_extmark_by_id(buf, ns, S.sep_id, {})
    if pos[1] then
      local line = api.nvim_buf_get_lines(buf, pos[1], pos[1] + 1, false)[1]
      if line and vim.startswith(line, M.SEPARATOR_PREFIX) then
        return pos[1]
      end
    end
  end
  local lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  for i = #lines, 1, -1 do
    if vim.startswith(lines[i], M.SEPARATOR_PREFIX) then
      place_separator_mark(i - 1)
      return i - 1
    end
  end
  api.nvim_buf_set_lines(buf, -1, -1, false, { separator_text(), "" })
  local row = api.nvim_buf_line_count(buf) - 2
  place_separator_mark(row)
  return row
end

--- Insert lines at the end of the transcript (right above the separator).
---@param lines string[]
local function insert_before_separator(lines)
  local row = sep_row()
  api.nvim_buf_set_lines(S.buf, row, row, false, lines)
end

local function split_lines(text)
  return vim.split((text:gsub("\r\n?", "\n")), "\n", { plain = true })
end

local warned = {} -- config warnings already shown in this Neovim: each once, not after every reply

--- The daemon's warnings about config.yaml values a chat ignored, as WARN notifications.
---@param warnings string[]?
function M.warn_config(warnings)
  for _, warning in ipairs(type(warnings) == "table" and warnings or {}) do
    if type(warning) == "string" and not warned[warning] then
      warned[warning] = true
      vim.notify("hermes: config.yaml: " .. warning, vim.log.levels.WARN)
    end
  end
end

--- The header line's text.
---@return string
function M.header_text()
  local cur = client.current()
  -- Models show as the daemon's short label (a path's file name); the id when it sent none.
  local provider, model, routed = S.provider, S.model_label or S.model, S.routed_model
  if S.override then
    -- The configured model changed: the next message goes to it.
    provider, model, routed = cur.provider, cur.label ~= "" and cur.label or cur.model, nil
  elseif not model or model == "" then
    -- No reply yet: show what the daemon is configured with.
    provider, model = provider or cur.provider, cur.label ~= "" and cur.label or cur.model
  end
  local parts = {
    "Hermes",
    "provider: " .. ((provider and provider ~= "") and provider or "(default)"),
    "model: " .. ((model and model ~= "") and model or "(none: run :HermesModel)"),
  }
  if routed and routed ~= "" then
    table.insert(parts, "routed: " .. routed)
  end
  if S.running then
    table.insert(parts, S.running.cancelling and "stopping…" or "streaming…")
  end
  return table.concat(parts, " · ")
end

--- The session meter shown after the header: the daemon's total and context meter ("" before a reply).
---@return string
function M.meter_text()
  local m = S.meter or {}
  local parts = {}
  for _, part in ipairs({ m.total, m.context }) do
    if type(part) == "string" and part ~= "" then
      table.insert(parts, part)
    end
  end
  return table.concat(parts, " · ")
end

--- Rewrite the header line (and the session meter after it, as virtual text).
function M.render_header()
  if not valid_buf() then
    return
  end
  local text = M.header_text()
  api.nvim_buf_set_lines(S.buf, 0, 1, false, { text })
  S.header_id = api.nvim_buf_set_extmark(S.buf, ns, 0, 0, {
    id = S.header_id,
    end_col = #text,
    hl_group = "HermesHeader",
  })
  local meter = M.meter_text()
  if S.meter_id then
    pcall(api.nvim_buf_del_extmark, S.buf, usage_ns, S.meter_id)
    S.meter_id = nil
  end
  if meter ~= "" then
    S.meter_id = api.nvim_buf_set_extmark(S.buf, usage_ns, 0, 0, { virt_text = { { "  " .. meter, "HermesUsage" } } })
  end
end

--- Show `footer` (the daemon's line: model, tokens, cost, context) as virtual text under buffer line `row` (0-based).
---@param row integer
---@param footer any
local function place_footer(row, footer)
  if type(footer) == "string" and footer ~= "" then
    api.nvim_buf_set_extmark(S.buf, usage_ns, row, 0, { virt_lines = { { { footer, "HermesUsage" } } } })
  end
end

--- The footers under the replies, top to bottom (what the virtual text shows).
---@return string[]
function M.footers()
  local out = {}
  if not valid_buf() then
    return out
  end
  for _, mark in ipairs(api.nvim_buf_get_extmarks(S.buf, usage_ns, 0, -1, { details = true })) do
    for _, line in ipairs(mark[4].virt_lines or {}) do
      table.insert(out, line[1][1])
    end
  end
  return out
end

local function reset_buffer_lines()
  api.nvim_buf_clear_namespace(S.buf, usage_ns, 0, -1) -- the old conversation's footers and meter
  S.meter_id = nil
  api.nvim_buf_set_lines(S.buf, 0, -1, false, { "", "", separator_text(), "" })
  place_separator_mark(2)
  M.render_header()
end

--- Append streamed text to the reply (the lines right above the separator).
---@param run hermes.Run
---@param text string
local function append_reply(run, text)
  run.text = run.text .. text
  local row = sep_row() - 1
  local line = api.nvim_buf_get_lines(S.buf, row, row + 1, false)[1] or ""
  local parts = split_lines(text)
  api.nvim_buf_set_text(S.buf, row, #line, row, #line, parts)
  run.nlines = run.nlines + #parts - 1
end

--- Replace the whole reply with `text` (when the final result differs from
--- what the deltas gave, e.g. a delta was lost).
---@param run hermes.Run
---@param text string
local function replace_reply(run, text)
  local row = sep_row()
  local lines = split_lines(text)
  api.nvim_buf_set_lines(S.buf, row - run.nlines, row, false, lines)
  run.nlines = #lines
  run.text = text
end

---@param run hermes.Run
---@param heading string
local function set_reply_heading(run, heading)
  local row = sep_row() - run.nlines - 1
  local line = api.nvim_buf_get_lines(S.buf, row, row + 1, false)[1]
  if line and vim.startswith(line, "## Hermes") then
    api.nvim_buf_set_lines(S.buf, row, row + 1, false, { heading })
  end
end

local function delta_matches(run, p)
  if run.request_id ~= nil and p.requestId ~= nil and tostring(p.requestId) == tostring(run.request_id) then
    return true
  end
  return S.session_id ~= nil and p.sessionId == S.session_id
end

local function on_delta(p)
  local run = S.running
  if not run or not valid_buf() or not delta_matches(run, p) then
    return
  end
  if type(p.sessionId) == "string" and not S.session_id then
    S.session_id = p.sessionId
  end
  -- The daemon sends a request's deltas in seq order (docs/protocol.md): append as they come.
  if type(p.text) == "string" and p.text ~= "" then
    append_reply(run, p.text)
  end
end

--- How to send a message again, under a reply the daemon marked retryable.
local function retry_line()
  local key = config.options.keymaps.retry
  return "> Retry: " .. (key and (key .. " or ") or "") .. ":HermesRetry"
end

--- Lines describing an upstream or protocol failure.
---@param e table  result.error ({kind, message, hint, status, retryAfter}) or a JSON-RPC error
---@return string[]
function M.error_lines(e)
  local head = "> **Error**"
  if type(e.kind) == "string" then
    head = head .. " (" .. e.kind .. (type(e.status) == "number" and (", " .. e.status) or "") .. ")"
  end
  local lines = {}
  for i, l in ipairs(split_lines(client.format_error(e))) do
    table.insert(lines, (i == 1 and (head .. ": ") or "> ") .. l)
  end
  if type(e.retryAfter) == "number" and not (type(e.hint) == "string" and e.hint:find("retry")) then
    table.insert(lines, ("> retry after %s s"):format(e.retryAfter))
  end
  if type(e.hint) == "string" and e.hint ~= "" then
    table.insert(lines, "> Hint: " .. e.hint)
  end
  if type(e.data) == "table" and e.data.retryable == true then
    table.insert(lines, retry_line())
  end
  return lines
end

---@param run hermes.Run
---@param err table?
---@param result table?
local function on_result(run, err, result)
  if run.done then
    return
  end
  run.done = true
  if S.running == run then
    S.running = nil
  end
  if run.generation ~= S.generation or not valid_buf() then
    return
  end
  local trailer = {}
  if err and type(err.data) == "table" and err.data.retryable == true then
    S.retry = { message = run.message, attachments = run.attachments }  -- the daemon says it may be sent again
  end
  if err then
    if err.code == -32800 then
      table.insert(trailer, "_[stopped]_")
    else
      vim.list_extend(trailer, M.error_lines(err))
    end
  elseif type(result) == "table" then
    M.warn_config(result.configWarnings)
    if type(result.sessionId) == "string" then
      S.session_id = result.sessionId
    end
    S.provider = type(result.provider) == "string" and result.provider or S.provider
    S.model = type(result.model) == "string" and result.model or S.model
    S.model_label = type(result.modelLabel) == "string" and result.modelLabel or nil
    S.routed_model = type(result.routedModel) == "string" and result.routedModel or nil
    S.override = nil
    if type(result.text) == "string" and result.text ~= run.text then
      replace_reply(run, result.text)
    end
    local heading = "## Hermes"
    if S.model and S.model ~= "" then
      heading = heading .. " (" .. (S.model_label or S.model) .. (S.routed_model and (" → " .. S.routed_model) or "") .. ")"
    end
    set_reply_heading(run, heading)
    if type(result.notice) == "string" and result.notice ~= "" then
      table.insert(trailer, "_[" .. result.notice .. "]_") -- the daemon's words (it is stopping)
    elseif result.stopReason == "cancelled" then
      table.insert(trailer, "_[stopped]_")
    elseif result.stopReason == "max_tokens" then
      table.insert(trailer, "_[cut: the reply reached the maximum number of tokens]_")
    end
    if type(result.error) == "table" then
      vim.list_extend(trailer, M.error_lines(result.error))
    end
    local usage = type(result.usage) == "table" and result.usage or {}
    if run.text ~= "" then
      place_footer(sep_row() - 1, usage.footer) -- under the reply's last line; it moves with the text
    end
    if type(result.sessionUsage) == "table" or usage.context then
      S.meter = { total = type(result.sessionUsage) == "table" and result.sessionUsage.label or nil, context = usage.context }
    end
  end
  table.insert(trailer, "")
  if run.text == "" and #trailer > 1 then
    -- Nothing arrived: the notice takes the place of the empty reply line.
    local row = sep_row()
    api.nvim_buf_set_lines(S.buf, row - 1, row, false, trailer)
  else
    if #trailer > 1 then
      table.insert(trailer, 1, "")
    end
    insert_before_separator(trailer)
  end
  M.render_header()
  pcall(api.nvim_exec_autocmds, "User", {
    pattern = "HermesChatDone",
    modeline = false,
    data = { stopReason = result and result.stopReason or (err and err.code == -32800 and "cancelled" or "error") },
  })
end

--- Send `message` in the chat session, streaming the reply into the buffer.
---@param message string
---@param attachments? table[]  context already taken (Retry); otherwise taken from `message` (#buffer, ...)
function M.send(message, attachments)
  M.ensure_buffer()
  if S.running then
    notify("a reply is still streaming; stop it first (:HermesStop)", vim.log.levels.WARN)
    return
  end
  if vim.trim(message) == "" then
    notify("type a message below the separator first", vim.log.levels.WARN)
    return
  end
  if not attachments then
    message, attachments = require("hermes.context").take(message)
  end
  S.retry = nil
  local lines = { "## You" }
  vim.list_extend(lines, split_lines(message))
  if #attachments > 0 then
    table.insert(lines, "> context: " .. table.concat(vim.tbl_map(require("hermes.context").label, attachments), ", "))
  end
  vim.list_extend(lines, { "", "## Hermes", "" })
  insert_before_separator(lines)

  ---@type hermes.Run
  local run = {
    text = "",
    nlines = 1,
    cancelling = false,
    generation = S.generation,
    message = message,
    attachments = vim.deepcopy(attachments),
  }
  S.running = run
  M.render_header()

  local params = { message = message, sessionId = S.session_id }
  if not S.session_id and config.options.chat.system then
    params.system = config.options.chat.system
  end
  if S.override then
    if S.override.provider ~= "" then
      params.provider = S.override.provider
    end
    if S.override.model ~= "" then
      params.model = S.override.model
    end
  end
  if #attachments > 0 then
    params.attachments = attachments
  end
  local function issue()
    client.request("hermes/chat", params, function(err, result)
      if err and err.code == -32004 and type(err.data) == "table" and type(err.data.attachments) == "table" then
        -- Files that may hold secrets: the daemon decides which, the user decides whether.
        local names = vim.tbl_map(function(f)
          return ("%s (%s)"):format(f.path, f.reason)
        end, err.data.attachments)
        vim.ui.select({ "Send anyway", "Don't send" }, {
          prompt = "Send files that may hold secrets (saved with the conversation)? " .. table.concat(names, ", "),
          kind = "hermes.confirm",
        }, function(choice)
          if choice == "Send anyway" then
            for _, f in ipairs(err.data.attachments) do
              params.attachments[f.index + 1].confirmed = true
            end
            issue()
          else
            on_result(run, { code = err.code, message = "not sent: you declined to send " .. table.concat(names, ", ") }, nil)
          end
        end)
        return
      end
      on_result(run, err, result)
    end, function(c, request_id)
    run.client = c
    run.request_id = request_id
    if run.cancelling then
      -- :HermesStop came before the request went out.
      client.cancel_request(c, request_id)
    end
  end, S.buf)
  end
  issue()
end

--- Send what is typed below the separator and clear the prompt area.
function M.send_prompt()
  if not valid_buf() then
    return
  end
  local row = sep_row()
  local text = table.concat(api.nvim_buf_get_lines(S.buf, row + 1, -1, false), "\n")
  text = vim.trim(text)
  if text == "" then
    notify("type a message below the separator first", vim.log.levels.WARN)
    return
  end
  if S.running then
    local how = config.options.keymaps.stop or ":HermesStop"
    notify("a reply is still streaming; stop it first (" .. how .. ")", vim.log.levels.WARN)
    return
  end
  api.nvim_buf_set_lines(S.buf, row + 1, -1, false, { "" })
  M.send(text)
  for _, win in ipairs(vim.fn.win_findbuf(S.buf)) do
    pcall(api.nvim_win_set_cursor, win, { api.nvim_buf_line_count(S.buf), 0 })
  end
end

--- Send again the message whose reply the daemon marked retryable: it failed with
--- `data.retryable` (the daemon restarted while it was answering), or a saved reply
--- shown from history has `retryable` (it never ended: interrupted).
---@return boolean sent
function M.retry()
  local again = S.retry
  if not again then
    notify("nothing to retry: the last reply was neither a retryable error nor interrupted", vim.log.levels.WARN)
    return false
  end
  if S.running then
    notify("a reply is still streaming; stop it first (:HermesStop)", vim.log.levels.WARN)
    return false
  end
  M.send(again.message, vim.deepcopy(again.attachments))
  return true
end

--- Stop the running reply (`hermes/cancel`); its partial text stays.
---@return boolean stopped false when nothing was running
function M.stop()
  local run = S.running
  if not run then
    notify("nothing is running")
    return false
  end
  if run.cancelling then
    return true
  end
  run.cancelling = true
  M.render_header()
  if S.session_id then
    client.request("hermes/cancel", { sessionId = S.session_id }, function(err, result)
      if err or (type(result) == "table" and result.cancelled == false and S.running == run) then
        -- The daemon did not know the reply (yet): fall back to $/cancelRequest.
        if run.client and run.request_id and S.running == run then
          client.cancel_request(run.client, run.request_id)
        end
      end
    end)
  elseif run.client and run.request_id then
    -- First message of a session whose id is not known yet.
    client.cancel_request(run.client, run.request_id)
  end
  return true
end

local function set_keymaps(buf)
  local km = config.options.keymaps
  local function map(modes, lhs, rhs, desc)
    if lhs then
      vim.keymap.set(modes, lhs, rhs, { buffer = buf, nowait = true, silent = true, desc = "hermes: " .. desc })
    end
  end
  map("n", km.send, M.send_prompt, "send the prompt")
  map({ "n", "i" }, km.stop, M.stop, "stop the reply")
  map("n", km.close, M.close, "close the chat window")
  map("n", km.new, M.new_session, "new session")
  map("n", km.retry, M.retry, "send the last message again (after a retryable error or an interrupted reply)")
  map("n", km.insert, function()
    require("hermes.code").insert()
  end, "insert the code block at the cursor of your file")
  map("n", km.apply, function()
    require("hermes.code").apply()
  end, "apply the code block to your file (as a diff)")
end

--- Create the chat buffer unless it exists.
---@return integer buf
function M.ensure_buffer()
  if valid_buf() then
    return S.buf
  end
  local buf = api.nvim_create_buf(false, true)
  S.buf = buf
  S.sep_id, S.header_id = nil, nil
  pcall(api.nvim_buf_set_name, buf, M.BUF_NAME)
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "hide"
  vim.bo[buf].swapfile = false
  vim.bo[buf].filetype = "hermes"
  if config.options.chat.markdown then
    if not pcall(vim.treesitter.start, buf, "markdown") then
      vim.bo[buf].syntax = "markdown"
    end
  end
  reset_buffer_lines()
  set_keymaps(buf)
  api.nvim_create_autocmd("BufWipeout", {
    buffer = buf,
    once = true,
    callback = function()
      if S.buf == buf then
        if S.running then
          M.stop()
        end
        S.buf, S.sep_id, S.header_id = nil, nil, nil
        S.generation = S.generation + 1
      end
    end,
  })
  -- Start the daemon now so the header shows the model before the first message.
  client.ensure(function() end)
  return buf
end

local function size(value, total)
  if value <= 1 then
    return math.max(1, math.floor(total * value))
  end
  return math.min(math.floor(value), total)
end

--- Show the chat buffer in a window (reusing one that already shows it) and
--- return the window.
---@return integer win
function M.open_window()
  local buf = M.ensure_buffer()
  local tab_wins = api.nvim_tabpage_list_wins(0)
  for _, win in ipairs(tab_wins) do
    if api.nvim_win_get_buf(win) == buf then
      api.nvim_set_current_win(win)
      return win
    end
  end
  local opts = config.options.chat
  local win
  if opts.layout == "float" then
    local width = size(opts.width, vim.o.columns)
    local height = size(opts.height, vim.o.lines - vim.o.cmdheight - 2)
    win = api.nvim_open_win(buf, true, {
      relative = "editor",
      width = width,
      height = height,
      row = math.floor((vim.o.lines - height) / 2) - 1,
      col = math.floor((vim.o.columns - width) / 2),
      border = opts.border,
      title = " Hermes ",
      title_pos = "center",
    })
  elseif opts.layout == "split" then
    win = api.nvim_open_win(buf, true, {
      split = opts.position == "top" and "above" or "below",
      win = -1,
      height = size(opts.height, vim.o.lines),
    })
  else
    win = api.nvim_open_win(buf, true, {
      split = opts.position == "left" and "left" or "right",
      win = -1,
      width = size(opts.width, vim.o.columns),
    })
  end
  local wo = vim.wo[win]
  wo.wrap = true
  wo.linebreak = true
  wo.number = false
  wo.relativenumber = false
  wo.signcolumn = "no"
  wo.foldenable = false
  return win
end

--- Put the cursor in the prompt area.
function M.focus_prompt()
  if not valid_buf() then
    return
  end
  local win = api.nvim_get_current_win()
  if api.nvim_win_get_buf(win) == S.buf then
    api.nvim_win_set_cursor(win, { api.nvim_buf_line_count(S.buf), 0 })
  end
end

--- Open (or reuse) the chat and, when `message` is given, send it.
---@param message? string
function M.open(message)
  M.open_window()
  M.focus_prompt()
  if message and vim.trim(message) ~= "" then
    M.send(message)
  elseif config.options.chat.start_insert then
    vim.cmd.startinsert({ bang = true })
  end
end

--- Close the chat window(s) in the current tab page (the buffer and the
--- session stay; :HermesChat shows them again).
function M.close()
  if not valid_buf() then
    return
  end
  for _, win in ipairs(api.nvim_tabpage_list_wins(0)) do
    if api.nvim_win_get_buf(win) == S.buf then
      if not pcall(api.nvim_win_close, win, false) then
        -- The last window: show another buffer in it instead.
        api.nvim_win_call(win, function()
          local alt = vim.fn.bufnr("#")
          if alt > 0 and alt ~= S.buf and api.nvim_buf_is_valid(alt) then
            api.nvim_win_set_buf(win, alt)
          else
            vim.cmd.enew()
          end
        end)
      end
    end
  end
end

--- Show a saved session (`hermes/getSession`); the next message continues it.
---@param session table
function M.load(session)
  M.new_session()
  M.ensure_buffer()
  S.session_id = session.sessionId
  S.provider, S.model = session.provider, session.model
  S.chosen = session.modelChosen == true or nil
  S.model_label = type(session.modelLabel) == "string" and session.modelLabel or nil
  local lines = {}
  local footers = {} -- {index into lines of a reply's last line, footer}
  local context -- the last reply's context meter
  local asked -- the last user message and its context: what Retry sends again
  for _, m in ipairs(session.messages or {}) do
    if m.role == "user" or m.role == "assistant" then
      local content = type(m.content) == "string" and m.content or ""
      if m.role == "user" then
        asked = { message = content, attachments = type(m.attachments) == "table" and m.attachments or {} }
        table.insert(lines, "## You")
      else
        -- The daemon's short label (a path's file name) when the id is long; the id otherwise.
        local shown = type(m.modelLabel) == "string" and m.modelLabel or m.model
        table.insert(lines, "## Hermes" .. ((type(shown) == "string" and shown ~= "") and (" (" .. shown .. ")") or ""))
      end
      vim.list_extend(lines, split_lines(content))
      if m.role == "assistant" and type(m.usage) == "table" then
        table.insert(footers, { #lines, m.usage.footer })
        context = m.usage.context or context
      end
      if type(m.notice) == "string" and m.notice ~= "" then
        table.insert(lines, "_[" .. m.notice .. "]_") -- interrupted, or cancelled as the daemon stopped
      end
      if m.role == "assistant" and m.retryable == true and asked then
        S.retry = asked -- the daemon's mark: this reply never ended
        table.insert(lines, retry_line())
      end
      if type(m.attachments) == "table" and #m.attachments > 0 then
        table.insert(lines, "> context: " .. table.concat(vim.tbl_map(require("hermes.context").label, m.attachments), ", "))
      end
      if type(m.error) == "table" then
        vim.list_extend(lines, M.error_lines(m.error))
      end
      table.insert(lines, "")
    end
  end
  local base = sep_row()
  insert_before_separator(lines)
  for _, f in ipairs(footers) do
    place_footer(base + f[1] - 1, f[2])
  end
  S.meter = { total = type(session.usage) == "table" and session.usage.label or nil, context = context }
  M.render_header()
  M.focus_prompt()
end

--- Forget the session and clear the transcript (a running reply is stopped).
function M.new_session()
  if S.running then
    M.stop()
  end
  S.running = nil
  S.generation = S.generation + 1
  S.session_id, S.provider, S.model, S.routed_model, S.override = nil, nil, nil, nil, nil
  S.model_label, S.chosen, S.meter = nil, nil, nil
  S.carried = nil
  S.retry = nil
  if valid_buf() then
    reset_buffer_lines()
  end
end

--- The daemon switched this conversation's model (`hermes/selectModel` with its
--- sessionId): its next messages go there, whatever the default becomes.
---@param current table  the result's `current`
function M.choose_model(current)
  S.provider, S.model = current.provider, current.model
  S.model_label = (current.label ~= "" and current.label ~= current.model) and current.label or nil
  S.routed_model, S.override, S.chosen = nil, nil, true
  M.render_header()
end

--- Build a message from the lines `line1`..`line2` of `buf`, with the file
--- name and filetype, after `prompt`.
---@param buf integer
---@param line1 integer 1-based, inclusive
---@param line2 integer
---@param prompt? string
---@return string
function M.selection_message(buf, line1, line2, prompt)
  local lines = api.nvim_buf_get_lines(buf, line1 - 1, line2, false)
  local name = api.nvim_buf_get_name(buf)
  name = name ~= "" and vim.fn.fnamemodify(name, ":~:.") or "[No Name]"
  local ft = vim.bo[buf].filetype
  local fence = "```"
  for _, l in ipairs(lines) do
    while l:find(fence, 1, true) do
      fence = fence .. "`"
    end
  end
  local out = {}
  if prompt and vim.trim(prompt) ~= "" then
    vim.list_extend(out, { vim.trim(prompt), "" })
  end
  table.insert(
    out,
    ("File: %s (filetype: %s), lines %d-%d:"):format(name, ft ~= "" and ft or "none", line1, line2)
  )
  table.insert(out, fence .. ft)
  vim.list_extend(out, lines)
  table.insert(out, fence)
  return table.concat(out, "\n")
end

client.on("chatDelta", on_delta)

client.on("configChanged", function(params)
  if params and (params.key == "model.default" or params.key == "model.provider" or params.key == "model") then
    if S.session_id and not S.chosen then -- a conversation with a model of its own keeps it
      local cur = client.current()
      S.override = { provider = cur.provider, model = cur.model }
    end
  end
  M.render_header()
end)

client.on("exit", function(_, reason)
  local run = S.running
  if run then
    on_result(run, { code = -32099, message = reason or "hermesd exited" }, nil)
  end
end)

api.nvim_set_hl(0, "HermesHeader", { default = true, link = "Title" })
api.nvim_set_hl(0, "HermesSeparator", { default = true, link = "Comment" })
api.nvim_set_hl(0, "HermesUsage", { default = true, link = "Comment" })

return M
