---@mod hermes.picker The model picker (:HermesModel)
---
--- Two |vim.ui.select()| steps: a provider (configured ones first), then one
--- of its models as the daemon lists them (for OpenRouter, the Pareto Code
--- router `openrouter/pareto-code` comes first, with its description).
--- Choosing Pareto Code asks for the minimum coding score with
--- |vim.ui.input()|. The choice is written with `hermes/setConfig`, so every
--- editor connected to the daemon sees it.

local client = require("hermes.client")

local M = {}

--- Model id of OpenRouter's Pareto Code router.
M.PARETO = "openrouter/pareto-code"
M.SCORE_KEY = "openrouter.min_coding_score"

local function notify(msg, level)
  vim.notify("hermes: " .. msg, level or vim.log.levels.INFO)
end

--- Providers sorted configured first, keeping the daemon's order otherwise.
---@param providers table[]
---@return table[]
function M.sort_providers(providers)
  local configured, others = {}, {}
  for _, p in ipairs(providers or {}) do
    table.insert(p.configured and configured or others, p)
  end
  return vim.list_extend(configured, others)
end

--- How a provider shows in the picker.
---@param p table  an entry of hermes/listProviders
---@return string
function M.format_provider(p)
  local cur = client.current()
  local text = p.displayName and p.displayName ~= "" and p.displayName ~= p.name
      and ("%s (%s)"):format(p.displayName, p.name)
    or p.name
  local vars = p.keyEnvVars or {}
  if p.configured then
    text = text .. " ✓"
  elseif p.authType == "aws_sdk" then
    text = text .. " — not configured: set AWS credentials"
  elseif p.authType and p.authType ~= "api_key" then
    -- OAuth, subscriptions, external processes: no key to ask for.
    text = text .. " — signs in through " .. p.authType
  elseif #vars > 0 then
    text = text .. " — not configured: set " .. vars[1]
  else
    text = text .. " — not configured"
  end
  if p.name == cur.provider then
    text = text .. " (current)"
  end
  return text
end

--- How a model shows in the picker.
---@param m table  an entry of hermes/listModels
---@return string
function M.format_model(m)
  local text = m.id
  if m.label and m.label ~= "" and m.label ~= m.id then
    text = text .. "  " .. m.label
  end
  if m.description and m.description ~= "" then
    text = text .. " — " .. m.description
  end
  if m.id == client.current().model then
    text = text .. " (current)"
  end
  return text
end

--- Write `settings` ({key, value} pairs) one after the other; stop at the
--- first refusal and show the daemon's message.
---@param settings {[1]: string, [2]: any}[]
---@param done fun(ok: boolean)
local function set_all(settings, done)
  local i = 0
  local function step()
    i = i + 1
    local kv = settings[i]
    if not kv then
      done(true)
      return
    end
    client.request("hermes/setConfig", { key = kv[1], value = kv[2] }, function(err)
      if err then
        notify(client.format_error(err), vim.log.levels.ERROR)
        done(false)
        return
      end
      step()
    end)
  end
  step()
end

--- Parse what the user typed for the minimum coding score.
--- Empty keeps the current value (returns nil); "none"/"null"/"off" sends
--- no floor (`vim.NIL`); a number is sent as a number; anything else is
--- sent as typed so the daemon's validation message explains the rule.
---@param input string
---@return any value, boolean keep
function M.parse_score(input)
  input = vim.trim(input)
  if input == "" then
    return nil, true
  end
  local lower = input:lower()
  if lower == "none" or lower == "null" or lower == "off" then
    return vim.NIL, false
  end
  local n = tonumber(input)
  if n then
    return n, false
  end
  return input, false
end

---@param provider table
---@param model table
local function apply(provider, model, score_set)
  set_all({ { "model.provider", provider.name }, { "model.default", model.id } }, function(ok)
    if ok then
      notify(("model set to %s (%s)%s"):format(model.id, provider.name, score_set or ""))
    end
  end)
end

---@param provider table
---@param model table
local function ask_score(provider, model)
  local settings = client.settings()
  local current = vim.tbl_get(settings or {}, "openrouter", "min_coding_score")
  local default = (current == nil or current == vim.NIL) and "" or tostring(current)
  vim.ui.input({
    prompt = "Pareto Code minimum coding score (0.0-1.0, 'none' for no floor): ",
    default = default,
  }, function(input)
    if input == nil then
      notify("model unchanged")
      return
    end
    local value, keep = M.parse_score(input)
    if keep then
      apply(provider, model)
      return
    end
    set_all({ { M.SCORE_KEY, value } }, function(ok)
      if ok then
        apply(provider, model, (", min coding score %s"):format(value == vim.NIL and "none" or tostring(value)))
      end
    end)
  end)
end

---@param provider table
local function pick_model(provider)
  client.request("hermes/listModels", { provider = provider.name }, function(err, result)
    if err then
      notify(client.format_error(err), vim.log.levels.ERROR)
      return
    end
    result = result or {}
    local models = result.models or {}
    if result.error then
      notify(("%s: live model list unavailable (%s); showing the %s list"):format(
        provider.name,
        result.error,
        result.source or "fallback"
      ), vim.log.levels.WARN)
    end
    if #models == 0 then
      notify(("%s lists no models"):format(provider.name), vim.log.levels.WARN)
      return
    end
    vim.ui.select(models, {
      prompt = ("%s model"):format(provider.displayName or provider.name),
      format_item = M.format_model,
      kind = "hermes.model",
    }, function(model)
      if not model then
        return
      end
      if model.id == M.PARETO then
        ask_score(provider, model)
      else
        apply(provider, model)
      end
    end)
  end)
end

--- Open the picker: provider, then model (then, for Pareto Code, the
--- minimum coding score).
function M.pick()
  client.request("hermes/listProviders", {}, function(err, result)
    if err then
      notify(client.format_error(err), vim.log.levels.ERROR)
      return
    end
    result = result or {}
    for _, e in ipairs(result.pluginErrors or {}) do
      notify(("plugin %s failed to load: %s"):format(e.plugin or "?", e.message or ""), vim.log.levels.WARN)
    end
    local providers = M.sort_providers(result.providers)
    if #providers == 0 then
      notify("hermesd knows no provider", vim.log.levels.WARN)
      return
    end
    vim.ui.select(providers, {
      prompt = "Hermes provider",
      format_item = M.format_provider,
      kind = "hermes.provider",
    }, function(provider)
      if provider then
        pick_model(provider)
      end
    end)
  end)
end

return M
