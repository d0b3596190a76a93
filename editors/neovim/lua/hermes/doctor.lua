---@mod hermes.doctor The doctor report (:HermesDoctor)
---
--- Asks the daemon for `hermes/doctor` (configuration, plugins, the Pareto
--- Code setting and a probe of each provider with a key) and shows the checks
--- in a scratch buffer. |:checkhealth| hermes shows the same checks through
--- |vim.health| (see `lua/hermes/health.lua`).

local api = vim.api
local client = require("hermes.client")
local scratch = require("hermes.scratch")

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

--- Run the doctor and show the report in a scratch buffer.
---@param opts? {probe?: boolean}
function M.run(opts)
  opts = opts or {}
  local buf = scratch.open(M.BUF_NAME, 10, "hermesdoctor")
  scratch.set_lines(buf, { "Running hermesd doctor…" })
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
          scratch.set_lines(buf, { "Running hermesd doctor… " .. p.value.message })
        end
      end
    end,
  })
  client.request("hermes/doctor", params, function(err, result)
    pcall(api.nvim_del_autocmd, progress)
    if err then
      scratch.set_lines(buf, { "hermesd doctor failed:", client.format_error(err) })
      return
    end
    scratch.set_lines(buf, M.format(result))
  end)
  return buf
end

return M
