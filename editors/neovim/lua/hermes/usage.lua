---@mod hermes.usage What the conversations cost (:HermesUsage)
---
--- Asks the daemon for `hermes/usageReport` (tokens and cost by day,
--- provider or model, from every saved session, with the spending caps) and
--- shows its text, worded by the daemon, in a scratch buffer.

local api = vim.api
local client = require("hermes.client")

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
  local buf = vim.fn.bufnr(M.BUF_NAME)
  if buf == -1 or not api.nvim_buf_is_valid(buf) then
    buf = api.nvim_create_buf(false, true)
    pcall(api.nvim_buf_set_name, buf, M.BUF_NAME)
    vim.bo[buf].buftype, vim.bo[buf].bufhidden, vim.bo[buf].swapfile = "nofile", "wipe", false
    vim.keymap.set("n", "q", "<Cmd>close<CR>", { buffer = buf, nowait = true, desc = "hermes: close" })
  end
  local shown = vim.fn.win_findbuf(buf)
  if #shown > 0 then
    api.nvim_set_current_win(shown[1])
  else
    api.nvim_open_win(buf, true, { split = "below", win = -1, height = math.max(8, math.floor(vim.o.lines * 0.3)) })
  end
  local function show(lines)
    if api.nvim_buf_is_valid(buf) then
      vim.bo[buf].modifiable = true
      api.nvim_buf_set_lines(buf, 0, -1, false, lines)
      vim.bo[buf].modifiable = false
    end
  end
  show({ "Asking hermesd for the usage report…" })
  client.request("hermes/usageReport", M.params(args), function(err, result)
    if err then
      show({ "hermesd usage report failed:", client.format_error(err) })
    else
      show(vim.split(result.text or "", "\n", { plain = true }))
    end
  end)
  return buf
end

return M
