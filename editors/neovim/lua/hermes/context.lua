---@mod hermes.context Context sent with a message: #buffer, #diagnostics, :HermesAdd
---
--- Following codecompanion.nvim's variables: `#buffer` in a message sends the
--- buffer you came from, `#diagnostics` its diagnostics; `:HermesAdd buffer`
--- and `:HermesAdd diagnostics` queue them for the next message. They go to
--- hermesd as typed attachments, which checks them (size, binary, files that
--- may hold secrets), renders them ahead of the message and saves them with
--- the turn.

local api = vim.api

local M = {}

---@type table[] attachments queued by :HermesAdd
M.pending = {}

---@type integer? the last ordinary buffer the user was in (where code goes)
M.source_buf = nil
---@type integer?
M.source_win = nil

--- Remember `buf` (shown in the current window) as where code and context come from, if it is a file buffer.
---@param buf integer
function M.note(buf)
  if api.nvim_buf_is_valid(buf) and vim.bo[buf].buftype == "" and not vim.startswith(api.nvim_buf_get_name(buf), "hermes://") then
    M.source_buf, M.source_win = buf, api.nvim_get_current_win()
  end
end

M.note(api.nvim_get_current_buf())
api.nvim_create_autocmd({ "BufEnter", "WinEnter" }, {
  group = api.nvim_create_augroup("hermes.context", { clear = true }),
  callback = function(ev)
    M.note(ev.buf)
  end,
})

--- The buffer the user came from, if it still exists.
---@return integer?
function M.source()
  if M.source_buf and api.nvim_buf_is_valid(M.source_buf) then
    return M.source_buf
  end
end

local function buffer_text(buf)
  local lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  local text = table.concat(lines, "\n")
  if vim.bo[buf].eol and #lines > 0 then
    text = text .. "\n"
  end
  return text
end

--- One attachment of `kind` ("buffer" or "diagnostics") for `buf`.
---@param kind string
---@param buf integer
---@return table? attachment, string? why_not
function M.attachment(kind, buf)
  local name = api.nvim_buf_get_name(buf)
  local path = name ~= "" and vim.fn.fnamemodify(name, ":p") or nil
  if kind == "buffer" then
    local ft = vim.bo[buf].filetype
    return { kind = "file", path = path, language = ft ~= "" and ft or nil, text = buffer_text(buf) }
  elseif kind == "diagnostics" then
    local severity = { "error", "warning", "info", "hint" }
    local lines = {}
    for _, d in ipairs(vim.diagnostic.get(buf)) do
      table.insert(lines, ("%d:%d %s: %s%s"):format(d.lnum + 1, d.col + 1, severity[d.severity] or "problem",
        (d.message:gsub("\n", " ")), d.source and (" (" .. d.source .. ")") or ""))
    end
    if #lines == 0 then
      return nil, "no diagnostics in " .. (name ~= "" and vim.fn.fnamemodify(name, ":t") or "this buffer")
    end
    return { kind = "diagnostics", path = path, text = table.concat(lines, "\n") }
  end
  return nil, ("unknown context %q: use buffer or diagnostics"):format(kind)
end

--- `:HermesAdd buffer|diagnostics`: queue context for the next message.
---@param kind string
function M.add(kind)
  local buf = M.source()
  if not buf then
    vim.notify("hermes: open a file first", vim.log.levels.WARN)
    return
  end
  local attachment, why = M.attachment(kind, buf)
  if not attachment then
    vim.notify("hermes: " .. why, vim.log.levels.WARN)
    return
  end
  table.insert(M.pending, attachment)
  vim.notify(("hermes: %s added for the next message (%d bytes)"):format(M.label(attachment), #attachment.text))
end

--- "fib.py", "diagnostics: fib.py".
---@param a table
---@return string
function M.label(a)
  local name = a.path and vim.fn.fnamemodify(a.path, ":t") or a.kind
  return a.kind == "diagnostics" and ("diagnostics: " .. name) or name
end

--- What a #variable reads as in the sent text: the file's name ("Is there a bug in sample.py?").
---@param word string  buffer or diagnostics
---@param a table?  its attachment (nil: it could not be taken)
---@return string
local function mention(word, a)
  local name = a and a.path and vim.fn.fnamemodify(a.path, ":t") or "this buffer"
  return word == "diagnostics" and ("the diagnostics of " .. name) or name
end

--- The message with its #variables replaced by what they name, and every attachment it carries (queued ones too).
---@param message string
---@return string message, table[] attachments
function M.take(message)
  local attachments = M.pending
  M.pending = {}
  local buf = M.source()
  -- A variable reads as the file it sends, so the sentence stays whole; the rest stays as typed.
  local cleaned = message:gsub("#(%a+)", function(word)
    if (word == "buffer" or word == "diagnostics") and buf then
      local attachment, why = M.attachment(word, buf)
      if attachment then
        table.insert(attachments, attachment)
        return mention(word, attachment)
      end
      vim.notify("hermes: " .. why, vim.log.levels.WARN)
      return mention(word, nil)
    end
  end)
  cleaned = vim.trim(cleaned)
  if cleaned == "" and #attachments > 0 then
    cleaned = "See the attached context."
  end
  return cleaned, attachments
end

return M
