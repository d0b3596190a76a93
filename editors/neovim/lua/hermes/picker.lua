---@mod hermes.picker The model picker (:HermesModel)
---
--- One |vim.ui.select()| over the daemon's picker (`hermes/listPicker`),
--- rows in the daemon's order with its wording: the current model, the
--- recommended router, each configured provider's models, and a "Set up
--- another provider…" entry listing the others with what they need. A row
--- that asks something first (a router's setting) asks it
--- with |vim.ui.input()| using the daemon's question; the text goes to the
--- daemon as typed. The choice is written with `hermes/selectModel`: with a
--- chat conversation open, for that conversation only (saved in its session);
--- otherwise, or with `:HermesModel!`, as the default for new chats, one
--- atomic write every editor connected to the daemon sees.

local client = require("hermes.client")

local M = {}

local function notify(msg, level)
  vim.notify("hermes: " .. msg, level or vim.log.levels.INFO)
end

--- How a picker row shows: "group: label — description", the current one marked.
---@param item table  an item of hermes/listPicker
---@return string
function M.format_item(item)
  local text = ("%s: %s%s"):format(item.group, item.current and "✓ " or "", item.label)
  if item.description and item.description ~= "" then
    text = text .. " — " .. item.description
  end
  return text
end

--- How a provider to set up shows: "label — description".
---@param row table  an entry of hermes/listPicker's `setup`
---@return string
function M.format_setup(row)
  return row.label .. " — " .. row.description
end

--- Save the choice with hermes/selectModel; show the daemon's message and hint.
---@param params table
local function select(params)
  client.request("hermes/selectModel", params, function(err, result)
    if err then
      notify(client.format_error(err), vim.log.levels.ERROR)
      return
    end
    if result.sessionId then -- the open conversation switched (with scope default, the default too)
      require("hermes.chat").choose_model(result.current)
    end
    if result.scope == "session" then
      notify(result.message .. " (:HermesModel! makes it the default for new chats too)")
    else
      notify(result.message)
    end
    if result.hint then
      notify(result.hint, vim.log.levels.WARN)
    end
  end)
end

---@param item table  a `model` row
local function choose(item, as_default)
  local params = { provider = item.provider, model = item.id }
  params.sessionId = require("hermes.chat").state.session_id -- the open conversation switches (nil: none)
  if as_default then
    params.scope = "default"
  end
  if not item.input then
    select(params)
    return
  end
  vim.ui.input({ prompt = item.input.prompt .. " ", default = item.input.value }, function(text)
    if text == nil then
      notify("model unchanged")
      return
    end
    params[item.input.param] = text
    select(params)
  end)
end

---@param listing table  the hermes/listPicker result
local function set_up(listing)
  vim.ui.select(listing.setup, {
    prompt = listing.setupTitle,
    format_item = M.format_setup,
    kind = "hermes.setup",
  }, function(row)
    if row then
      notify(row.hint, vim.log.levels.WARN)
    end
  end)
end

--- Open the picker.
---@param as_default boolean?  the choice is the default for new chats too (:HermesModel!)
function M.pick(as_default)
  client.request("hermes/listPicker", {}, function(err, listing)
    if err then
      notify(client.format_error(err), vim.log.levels.ERROR)
      return
    end
    for _, message in ipairs(listing.errors or {}) do
      notify(message, vim.log.levels.WARN)
    end
    vim.ui.select(listing.items, {
      prompt = listing.title,
      format_item = M.format_item,
      kind = "hermes.model",
    }, function(item)
      if not item then
        return
      elseif item.kind == "setup" then
        set_up(listing)
      elseif item.kind == "notice" then
        notify(item.hint or item.label, vim.log.levels.WARN)
      else
        choose(item, as_default)
      end
    end)
  end)
end

return M
