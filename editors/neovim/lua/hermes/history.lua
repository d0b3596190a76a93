---@mod hermes.history :HermesHistory, reopen a saved conversation
---
--- The daemon lists saved sessions newest first from its index
--- (`hermes/listSessions`, filtered by the optional query); the chosen one
--- is read (`hermes/getSession`), shown in the chat buffer, and continued
--- by the next message.

local M = {}

--- "just now", "5 min ago", "3 h ago", "2 days ago", else the date.
---@param iso string
---@param now? integer
---@return string
function M.age(iso, now)
  local y, mo, d, h, mi, s = tostring(iso):match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)")
  if not y then
    return tostring(iso)
  end
  local utc = os.time({ year = y, month = mo, day = d, hour = h, min = mi, sec = s, isdst = false })
  local offset = os.time() - os.time(os.date("!*t") --[[@as osdate]])
  local seconds = math.max(0, (now or os.time()) - (utc + offset))
  if seconds < 60 then
    return "just now"
  elseif seconds < 3600 then
    return ("%d min ago"):format(math.floor(seconds / 60))
  elseif seconds < 86400 then
    return ("%d h ago"):format(math.floor(seconds / 3600))
  elseif seconds < 86400 * 30 then
    local days = math.floor(seconds / 86400)
    return days == 1 and "yesterday" or ("%d days ago"):format(days)
  end
  return iso:sub(1, 10)
end

---@param row table a listSessions row
---@return string
function M.format(row)
  local target = table.concat(vim.tbl_filter(function(p)
    return p ~= ""
  end, { row.provider or "", row.model or "" }), " · ")
  return ("%s  [%s]  %s, %d message%s"):format(row.title, target, M.age(row.updatedAt), row.messageCount or 0,
    row.messageCount == 1 and "" or "s")
end

--- `:HermesHistory [query]`.
---@param query? string
function M.open(query)
  local client = require("hermes.client")
  local params = { limit = 50 }
  if query and vim.trim(query) ~= "" then
    params.query = vim.trim(query)
  end
  client.request("hermes/listSessions", params, function(err, result)
    if err then
      vim.notify("hermes: " .. client.format_error(err), vim.log.levels.ERROR)
      return
    end
    local rows = result and result.sessions or {}
    if #rows == 0 then
      vim.notify("hermes: " .. (params.query and "no conversation matches" or "no saved conversations yet"))
      return
    end
    vim.ui.select(rows, { prompt = "Hermes: open conversation", format_item = M.format, kind = "hermes.history" },
      function(row)
        if row then
          M.reopen(row.sessionId)
        end
      end)
  end)
end

--- Show session `id` in the chat buffer; the next message continues it.
---@param id string
function M.reopen(id)
  local client = require("hermes.client")
  client.request("hermes/getSession", { sessionId = id }, function(err, session)
    if err then
      vim.notify("hermes: " .. client.format_error(err), vim.log.levels.ERROR)
      return
    end
    local chat = require("hermes.chat")
    chat.open_window()
    chat.load(session)
  end)
end

return M
