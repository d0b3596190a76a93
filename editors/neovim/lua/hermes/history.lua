---@mod hermes.history :HermesHistory, reopen a saved conversation
---
--- The daemon lists saved sessions newest first from its index
--- (`hermes/listSessions`, filtered by the optional query); the chosen one
--- is read (`hermes/getSession`), shown in the chat buffer, and continued
--- by the next message.

local M = {}

--- A listSessions row as the picker shows it: the daemon's display-ready lines.
---@param row table a listSessions row
---@return string
function M.format(row)
  local where = (row.description or "") ~= "" and ("  [%s]"):format(row.description) or ""
  return ("%s%s  %s"):format(row.title, where, row.detail or "")
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
