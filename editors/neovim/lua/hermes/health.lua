---@mod hermes.health :checkhealth hermes
---
--- Checks the Neovim version and the daemon command, starts hermesd if it is
--- not running, and reports each check of `hermes/doctor` through
--- |vim.health|: `ok` → OK, `warn` → WARNING, `fail` → ERROR (with the
--- daemon's hint as advice), `skip` → info.

local M = {}

function M.check()
  local health = vim.health
  health.start("hermes.nvim")
  if vim.fn.has("nvim-0.10") ~= 1 then
    health.error("Neovim 0.10 or newer is required (this is " .. tostring(vim.version()) .. ")")
    return
  end
  health.ok("Neovim " .. tostring(vim.version()))

  local config = require("hermes.config")
  local client = require("hermes.client")
  local cmd = config.options.server.cmd
  if type(cmd) == "table" then
    local exe = vim.fn.exepath(cmd[1])
    if exe == "" then
      health.error(("server command %q is not executable"):format(cmd[1]), {
        "Install the daemon " .. client.INSTALL_HINT,
        "Or point the plugin at it: require('hermes').setup({ server = { cmd = { '/path/to/hermesd-lsp', '--stdio' } } })",
      })
      return
    end
    health.ok(("server command: %s (%s)"):format(table.concat(cmd, " "), exe))
  else
    health.info("server command: a function (custom transport)")
  end

  health.start("hermesd")
  local c, err = client.wait_ready()
  if not c then
    health.error(err or "hermesd did not start", {
      "Run the server command in a terminal to see its error",
      "Neovim's LSP log: " .. vim.lsp.get_log_path(),
    })
    return
  end
  local info = client.info()
  local server = info.server_info or {}
  health.ok(("%s %s running (protocol %s, client id %d)"):format(
    server.name or "hermesd",
    server.version or "?",
    info.protocol_version or "?",
    c.id
  ))
  local cfg, cfg_err = client.request_sync("hermes/getConfig", {})
  if not cfg then
    health.error(cfg_err or "hermes/getConfig failed")
  else
    for _, e in ipairs(cfg.errors or {}) do
      local where = (cfg.path or "config.yaml") .. (type(e.line) == "number" and (" line " .. e.line) or "")
      health.error(("%s: %s"):format(where, e.message or "?"))
    end
    local model = vim.tbl_get(cfg, "config", "model") or {}
    local name = type(model.default) == "string" and model.default or ""
    local provider = type(model.provider) == "string" and model.provider or ""
    if name ~= "" then
      health.ok(("model: %s (provider: %s)"):format(name, provider ~= "" and provider or "default"))
    else
      health.warn("no model configured", { "Pick one with :HermesModel" })
    end
  end

  M.check_completion()

  health.start("hermesd doctor")
  local opts = config.options.health
  local result, doctor_err = client.request_sync("hermes/doctor", { probe = opts.probe }, opts.timeout_ms)
  if not result then
    health.error(doctor_err or "hermes/doctor failed")
    return
  end
  local checks = result.checks or {}
  if #checks == 0 then
    health.info("the daemon reported no checks")
  end
  local skipped = {}
  for _, check in ipairs(checks) do
    local msg = ("%s: %s"):format(check.id or "?", check.summary or "")
    local advice = (check.hint and check.hint ~= "") and { check.hint } or nil
    if check.status == "ok" then
      health.ok(msg)
    elseif check.status == "warn" then
      health.warn(msg, advice)
    elseif check.status == "fail" then
      health.error(msg, advice)
    elseif check.status == "skip" and check.provider then
      table.insert(skipped, check.provider)
    else
      health.info(msg .. (advice and (" (" .. advice[1] .. ")") or ""))
    end
  end
  if #skipped > 0 then
    health.info(("not probed, no key set: %s (:HermesDoctor shows the variables)"):format(table.concat(skipped, ", ")))
  end
end

--- The completion section: which client draws the ghost text, the state line, the keys.
function M.check_completion()
  local health = vim.health
  health.start("hermes completion")
  if vim.fn.has("nvim-0.11") ~= 1 then
    health.info("ghost-text completion needs Neovim 0.11 or newer")
    return
  end
  local completion = require("hermes.completion")
  if vim.lsp.inline_completion then
    health.info("Neovim's vim.lsp.inline_completion draws the suggestions (0.12+; untested by hermes.nvim's tests)")
  else
    health.ok("hermes.nvim's extmark client draws the suggestions (Neovim 0.11)")
  end
  local kind, line = completion.status()
  if kind == "on" then
    health.ok(line)
  elseif kind == "off" then
    health.info(line)
  else
    health.warn(line, kind == "unconfigured" and {
      ":HermesSet completion.provider {provider} and :HermesSet completion.model {model}",
      "the doctor's completion checks below say which template and endpoint the daemon chose",
    } or nil)
  end
  local keys = {}
  for name, lhs in pairs(require("hermes.config").options.completion.keymaps) do
    table.insert(keys, ("%s %s"):format(name:gsub("_", " "), lhs or "(none)"))
  end
  table.sort(keys)
  health.info("insert-mode keys: " .. table.concat(keys, ", "))
end

return M
