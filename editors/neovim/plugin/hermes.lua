-- hermes.nvim: the :Hermes* commands. The modules load on first use, so this
-- file costs nothing at startup. See :help hermes.

if vim.g.loaded_hermes then
  return
end
vim.g.loaded_hermes = true

if vim.fn.has("nvim-0.10") ~= 1 then
  local msg = "hermes.nvim requires Neovim 0.10 or newer; the :Hermes commands are not defined"
  vim.api.nvim_echo({ { msg, "ErrorMsg" } }, true, {})
  return
end

local command = vim.api.nvim_create_user_command

-- Prestart: once Neovim is idle after startup, start (or connect to) the
-- daemon in the background, so the first :HermesChat does not wait for it.
-- Nothing here blocks startup; a failure is reported at the first command.
vim.api.nvim_create_autocmd("VimEnter", {
  once = true,
  desc = "hermes.nvim: start the daemon in the background (option autostart)",
  callback = function()
    vim.defer_fn(function()
      if vim.fn.has("nvim-0.11") == 1 then
        require("hermes.completion").setup() -- its autocommands and insert-mode keys (setup() sets them again)
      end
      if require("hermes.config").options.autostart then
        require("hermes.client").start()
      end
    end, 0)
  end,
})

command("HermesCompletion", function(opts)
  require("hermes").completion(opts.args)
end, {
  nargs = "?",
  complete = function()
    return { "on", "off", "toggle", "status" }
  end,
  desc = "Hermes: turn ghost-text completion on or off, or show its state",
})

command("HermesChat", function(opts)
  require("hermes").chat({ prompt = opts.args, range = opts.range, line1 = opts.line1, line2 = opts.line2 })
end, {
  nargs = "*",
  range = true,
  desc = "Hermes: open the chat (and send [prompt], with the selected lines)",
})

command("HermesNew", function(opts)
  require("hermes").new(opts.args)
end, { nargs = "*", desc = "Hermes: start a new chat session" })

command("HermesStop", function()
  require("hermes").stop()
end, { nargs = 0, desc = "Hermes: stop the running reply" })

command("HermesRetry", function()
  require("hermes").retry()
end, { nargs = 0, desc = "Hermes: send the last message again after a retryable error" })

command("HermesModel", function(opts)
  require("hermes").model({ default = opts.bang })
end, { nargs = 0, bang = true, desc = "Hermes: pick a model for this conversation (!: and the default for new chats)" })

command("HermesSet", function(opts)
  local key, value = opts.args:match("^%s*(%S+)%s*(.-)%s*$")
  if not key then
    vim.notify("hermes: usage: :HermesSet {key} {value}  (or :HermesSet! {key} to reset it)", vim.log.levels.ERROR)
    return
  end
  require("hermes").set(key, value, opts.bang)
end, {
  nargs = "+",
  bang = true,
  complete = function(arglead, cmdline)
    return require("hermes").complete_set(arglead, cmdline)
  end,
  desc = "Hermes: set a configuration key (! resets it to the default)",
})

command("HermesDoctor", function()
  require("hermes").doctor()
end, { nargs = 0, desc = "Hermes: show the daemon's doctor report" })

command("HermesUsage", function(opts)
  require("hermes.usage").open(opts.args)
end, {
  nargs = "*",
  complete = function()
    return { "7d", "30d", "24h", "day", "provider", "model" }
  end,
  desc = "Hermes: tokens and cost by day, provider or model ([since] [by]: 7d model)",
})

command("HermesHistory", function(opts)
  require("hermes.history").open(opts.args)
end, { nargs = "*", desc = "Hermes: reopen a saved conversation ([query] filters)" })

command("HermesInsert", function()
  require("hermes.code").insert()
end, { nargs = 0, desc = "Hermes: insert the chat's code block at the cursor of your file" })

command("HermesApply", function(opts)
  require("hermes.code").apply({ range = opts.range, line1 = opts.line1, line2 = opts.line2 })
end, { nargs = 0, range = true, desc = "Hermes: apply the chat's code block to your file, as a diff to accept" })

command("HermesAccept", function()
  require("hermes.code").accept()
end, { nargs = 0, desc = "Hermes: write the proposed change" })

command("HermesDiscard", function()
  require("hermes.code").discard()
end, { nargs = 0, desc = "Hermes: drop the proposed change" })

command("HermesAdd", function(opts)
  require("hermes.context").add(opts.args)
end, {
  nargs = 1,
  complete = function()
    return { "buffer", "diagnostics" }
  end,
  desc = "Hermes: send the buffer or its diagnostics with the next message",
})
