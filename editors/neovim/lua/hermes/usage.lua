---@mod hermes.usage What the conversations cost (:HermesUsage)
---
--- Asks the daemon for `hermes/usageReport` (tokens and cost by day,
--- provider or model, from every saved session, with the spending caps) and
--- shows its text, worded by the daemon, in a scratch buffer.

local client = require("hermes.client")
local scratch = require("hermes.scratch")

local M = {}

M.BUF_NAME = "hermes://usage"

--- `:HermesUsage [since] [by]` arguments as the request's params: "7d", "2026-12-01"; "day", "provider", "model".
---@param args string
---@return table
function M.params(args)
  local params = {}
  for word in (args or ""):gmatch("%S+") do
    if word == "day" or word == "provider" or word == "model" then
      params.by = word
    else
      params.since = word
    end
  end
  return params
end

--- Show the report in the `hermes://usage` buffer (reused), below the current window.
---@param args? string
---@return integer buf
function M.open(args)
  local buf = scratch.open(M.BUF_NAME, 8)
  scratch.set_lines(buf, { "Asking hermesd for the usage report…" })
  client.request("hermes/usageReport", M.params(args), function(err, result)
    if err then
      scratch.set_lines(buf, { "hermesd usage report failed:", client.format_error(err) })
    else
      scratch.set_lines(buf, vim.split(result.text or "", "\n", { plain = true }))
    end
  end)
  return buf
end

return M
