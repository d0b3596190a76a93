---@mod hermes.code Code from a reply into a buffer: :HermesInsert, :HermesApply
---
--- `:HermesInsert` puts the code block under the cursor in the chat (or the
--- last one) at the cursor of the buffer you came from. `:HermesApply` asks
--- hermesd (`hermes/planApply`) what the file would become: the range the
--- conversation carried (`:'<,'>HermesChat`), a range you give
--- (`:'<,'>HermesApply` in the file), a unified diff, or the whole file; a
--- fragment with no range is refused. The result opens in a `diffthis`
--- split; nothing is written until `:HermesAccept` (`ga` in the proposal),
--- `:HermesDiscard` (`q`) drops it.

local api = vim.api
local context = require("hermes.context")

local M = {}

---@type {buf: integer, target: integer, tick: integer, win?: integer}?
M.proposal = nil

--- Where a reply ends in the chat buffer: the next turn's heading, the prompt separator, a stop notice.
---@param line string
---@return boolean
local function ends_reply(line)
  return line == "## You" or line:match("^## Hermes") ~= nil or line:match("^────") ~= nil or line:match("^_%[.*%]_$") ~= nil
end

--- The fenced code block at `row` (0-based) of the chat buffer, else the last one. A fence the
--- model left open runs to the end of its reply, as markdown renders it.
---@param buf integer
---@param row? integer
---@return {text: string, language: string}?
function M.block(buf, row)
  local lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  local blocks, open = {}, nil
  local function close(last, past)
    local body = vim.list_slice(lines, open.first + 1, past - 1)
    while #body > 0 and body[#body] == "" and past > last do -- an open fence's trailing blank lines
      table.remove(body)
    end
    table.insert(blocks, { first = open.first, last = last, language = open.language, text = table.concat(body, "\n") .. "\n" })
    open = nil
  end
  for i, line in ipairs(lines) do
    local fence, info = line:match("^%s*(```+)%s*([%w_+#.-]*)")
    if open and ends_reply(line) then
      close(i - 1, i)
    end
    if fence and not open then
      open = { fence = fence, language = info, first = i }
    elseif open and line:match("^%s*" .. open.fence .. "%s*$") then
      close(i, i)
    end
  end
  if open then
    close(#lines, #lines + 1)
  end
  if #blocks == 0 then
    return nil
  end
  if row then
    for _, b in ipairs(blocks) do
      if row + 1 >= b.first and row + 1 <= b.last then
        return b
      end
    end
  end
  return blocks[#blocks]
end

local function chat_block()
  local chat = require("hermes.chat")
  local buf = chat.state.buf
  if not buf or not api.nvim_buf_is_valid(buf) then
    return nil
  end
  local row
  if api.nvim_get_current_buf() == buf then
    row = api.nvim_win_get_cursor(0)[1] - 1
  end
  return M.block(buf, row)
end

local function source_window(buf)
  for _, win in ipairs(api.nvim_tabpage_list_wins(0)) do
    if api.nvim_win_get_buf(win) == buf then
      return win
    end
  end
end

--- `:HermesInsert`: the block at the cursor of the buffer you came from.
function M.insert()
  local block = chat_block()
  local buf = context.source()
  if not block then
    vim.notify("hermes: no code block in the chat", vim.log.levels.WARN)
    return
  end
  if not buf then
    vim.notify("hermes: open the file the code should go into first", vim.log.levels.WARN)
    return
  end
  local win = source_window(buf)
  local row, col = 0, 0
  if win then
    local cursor = api.nvim_win_get_cursor(win)
    row, col = cursor[1] - 1, cursor[2]
  end
  api.nvim_buf_set_text(buf, row, col, row, col, vim.split(block.text, "\n", { plain = true }))
end

local function buffer_text(buf)
  local text = table.concat(api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
  return vim.bo[buf].eol and (text .. "\n") or text
end

--- `:[range]HermesApply`.
---@param opts? {range?: integer, line1?: integer, line2?: integer}
function M.apply(opts)
  opts = opts or {}
  local chat = require("hermes.chat")
  local block = chat_block()
  if not block then
    vim.notify("hermes: no code block in the chat", vim.log.levels.WARN)
    return
  end
  local current = api.nvim_get_current_buf()
  local buf, range
  if current ~= chat.state.buf and vim.bo[current].buftype == "" then
    buf = current
    if opts.range and opts.range > 0 then -- the user picked the lines
      range = { start = { line = opts.line1 - 1, character = 0 }, ["end"] = { line = opts.line2, character = 0 } }
    end
  else
    local carried = chat.state.carried
    if carried and api.nvim_buf_is_valid(carried.buf) then
      buf = carried.buf
      range = { start = { line = carried.line1 - 1, character = 0 }, ["end"] = { line = carried.line2, character = 0 } }
    else
      buf = context.source()
    end
  end
  if not buf then
    vim.notify("hermes: open the file to apply the code to first", vim.log.levels.WARN)
    return
  end
  local client = require("hermes.client")
  local params = { code = block.text, language = block.language, path = vim.fn.fnamemodify(api.nvim_buf_get_name(buf), ":p"),
    text = buffer_text(buf), range = range }
  client.request("hermes/planApply", params, function(err, plan)
    if err then
      vim.notify("hermes: cannot apply this block: " .. client.format_error(err), vim.log.levels.ERROR)
      return
    end
    if plan.mode == "needsRange" or type(plan.text) ~= "string" then
      vim.notify("hermes: " .. (plan.reason or "select the lines the block replaces") .. " (:'<,'>HermesApply in the file)",
        vim.log.levels.WARN)
      return
    end
    M.show(buf, plan.text, plan.mode)
  end)
end

--- Open the proposed text beside `target` as a diff.
---@param target integer
---@param text string
---@param mode string
function M.show(target, text, mode)
  M.discard()
  local win = source_window(target)
  if win then
    api.nvim_set_current_win(win)
  else
    vim.cmd("botright split")
    api.nvim_win_set_buf(0, target)
  end
  vim.cmd("diffthis")
  local buf = api.nvim_create_buf(false, true)
  local lines = vim.split(text, "\n", { plain = true })
  if lines[#lines] == "" then
    table.remove(lines)
  end
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  pcall(api.nvim_buf_set_name, buf, "hermes://proposal/" .. vim.fn.fnamemodify(api.nvim_buf_get_name(target), ":t"))
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].filetype = vim.bo[target].filetype
  vim.cmd("vertical rightbelow split")
  api.nvim_win_set_buf(0, buf)
  vim.cmd("diffthis")
  M.proposal = { buf = buf, target = target, tick = api.nvim_buf_get_changedtick(target), win = api.nvim_get_current_win(),
    mode = mode }
  vim.keymap.set("n", "ga", M.accept, { buffer = buf, desc = "hermes: accept the proposed change" })
  vim.keymap.set("n", "q", M.discard, { buffer = buf, desc = "hermes: discard the proposed change" })
  vim.notify(("hermes: proposed change (%s): ga or :HermesAccept writes it, q or :HermesDiscard drops it"):format(mode))
end

--- `:HermesAccept`: write the proposal into the file.
function M.accept()
  local p = M.proposal
  if not p or not api.nvim_buf_is_valid(p.buf) then
    vim.notify("hermes: no proposed change is open", vim.log.levels.WARN)
    return
  end
  if api.nvim_buf_get_changedtick(p.target) ~= p.tick then
    vim.notify("hermes: the file changed since the diff was made; apply the block again", vim.log.levels.WARN)
    return
  end
  api.nvim_buf_set_lines(p.target, 0, -1, false, api.nvim_buf_get_lines(p.buf, 0, -1, false))
  if api.nvim_buf_get_name(p.target) ~= "" then
    api.nvim_buf_call(p.target, function()
      vim.cmd("silent write")
    end)
  end
  M.discard()
  vim.notify("hermes: change applied")
end

--- `:HermesDiscard`: close the proposal; the file stays as it was.
function M.discard()
  local p = M.proposal
  M.proposal = nil
  if not p then
    return
  end
  for _, win in ipairs(api.nvim_tabpage_list_wins(0)) do
    if api.nvim_win_get_buf(win) == p.target then
      api.nvim_win_call(win, function()
        vim.cmd("diffoff")
      end)
    end
  end
  if api.nvim_buf_is_valid(p.buf) then
    api.nvim_buf_delete(p.buf, { force = true })
  end
end

return M
