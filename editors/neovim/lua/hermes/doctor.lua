---@mod hermes.doctor The doctor report (:HermesDoctor)
---
--- Asks the daemon for `hermes/doctor` (configuration, plugins, the Pareto
--- Code setting and a probe of each provider with a key) and shows the checks
--- in a scratch buffer. |:checkhealth| hermes shows the same checks through
--- |vim.health| (see `lua/hermes/health.lua`).

local api = vim.api
local client = require("hermes.client")

local M = {}

M.BUF_NAME = "hermes://doctor"

local labels = { ok = "OK", warn = "WARN", fail = "FAIL", skip = "SKIP" }
local severity = { fail = 0, warn = 1, ok = 3, skip = 4 }

--- Lines of the report for a `hermes/doctor` result.
---@param result table  {checks = {{id, status, summary, hint?, provider?}}}
---@return string[]
function M.format(result)
  local info = client.info()
  local server = info.server_info or {}
  local lines = {
    ("hermesd doctor — %s %s, protocol %s"):format(
      server.name or "hermesd",
      server.version or "?",
      info.protocol_version or "?"
    ),
    "",
  }
  local counts = { ok = 0, warn = 0, fail = 0, skip = 0 }
  -- Problems first; the daemon's order otherwise.
  local checks = {}
  for i, check in ipairs((result or {}).checks or {}) do
    checks[i] = { check = check, rank = severity[check.status] or 2, index = i }
  end
  table.sort(checks, function(a, b)
    if a.rank ~= b.rank then
      return a.rank < b.rank
    end
    return a.index < b.index
  end)
  for _, item in ipairs(checks) do
    local check = item.check
    local status = check.status or "?"
    counts[status] = (counts[status] or 0) + 1
    local label = "[" .. (labels[status] or status:upper()) .. "]"
    table.insert(lines, ("%-6s %s: %s"):format(label, check.id or "?", check.summary or ""))
    if check.hint and check.hint ~= "" then
      table.insert(lines, ("       hint: %s"):format(check.hint))
    end
  end
  table.insert(lines, "")
  table.insert(lines, ("%d ok, %d warn, %d fail, %d skip"):format(counts.ok, counts.warn, counts.fail, counts.skip))
  return lines
end

local function scratch_buffer()
  local buf = vim.fn.bufnr(M.BUF_NAME)
  if buf == -1 or not api.nvim_buf_is_valid(buf) then
    buf = api.nvim_create_buf(false, true)
    pcall(api.nvim_buf_set_name, buf, M.BUF_NAME)
    vim.bo[buf].buftype = "nofile"
    vim.bo[buf].bufhidden = "wipe"
    vim.bo[buf].swapfile = false
    vim.bo[buf].filetype = "hermesdoctor"
    vim.keymap.set("n", "q", "<Cmd>close<CR>", { buffer = buf, nowait = true, desc = "hermes: close" })
  end
  return buf
end

local function set_lines(buf, lines)
  if not api.nvim_buf_is_valid(buf) then
    return
  end
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
end

--- Run the doctor and show the report in a scratch buffer.
---@param opts? {probe?: boolean}
function M.run(opts)
  opts = opts or {}
  local buf = scratch_buffer()
  local shown = vim.fn.win_findbuf(buf)
  if #shown > 0 then
    api.nvim_set_current_win(shown[1])
  else
    api.nvim_open_win(buf, true, { split = "below", win = -1, height = math.max(10, math.floor(vim.o.lines * 0.3)) })
  end
  set_lines(buf, { "Running hermesd doctor…" })
  -- Ask for $/progress so the probes show up (here and in any progress UI).
  local token = ("hermes-doctor-%d"):format(vim.uv.hrtime())
  local params = { workDoneToken = token }
  if opts.probe ~= nil then
    params.probe = opts.probe
  end
  local progress = api.nvim_create_autocmd("LspProgress", {
    callback = function(ev)
      local p = ev.data and ev.data.params
      if p and p.token == token and type(p.value) == "table" and p.value.message then
        local first = api.nvim_buf_is_valid(buf) and api.nvim_buf_get_lines(buf, 0, 1, false)[1] or ""
        if first:find("^Running") then
          set_lines(buf, { "Running hermesd doctor… " .. p.value.message })
        end
      end
    end,
  })
  client.request("hermes/doctor", params, function(err, result)
    pcall(api.nvim_del_autocmd, progress)
    if err then
      set_lines(buf, { "hermesd doctor failed:", client.format_error(err) })
      return
    end
    set_lines(buf, M.format(result))
  end)
  return buf
end

return M
