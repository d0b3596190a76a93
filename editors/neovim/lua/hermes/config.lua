---@mod hermes.config Options of hermes.nvim
---
--- Holds the user's options (merged over the defaults by |hermes.setup()|).
--- Every other module reads `require("hermes.config").options` when it needs
--- a value, so calling `setup()` again takes effect for new windows and the
--- next daemon start.

local M = {}

---@class hermes.Options
---@field autostart boolean  Start (or connect to) the daemon in the background once Neovim is idle after startup.
---@field server hermes.ServerOptions
---@field chat hermes.ChatOptions
---@field keymaps hermes.Keymaps
---@field health hermes.HealthOptions
---@field completion hermes.CompletionOptions

---@class hermes.ServerOptions
---@field cmd string[]|fun(dispatchers: table, config: table): table  Command that starts the daemon (stdio).
---@field cmd_env? table<string,string>  Extra environment for the daemon.
---@field shared boolean  Use the shared per-user daemon (false: `--no-shared`, a daemon for this Neovim alone).
---@field init_timeout_ms integer  How long synchronous callers wait for the handshake.
---@field initialize_timeout_ms integer  How long the daemon has to answer `initialize` before it is stopped as not hermesd.
---@field request_timeout_ms integer  How long synchronous requests (health, completion) wait.

---@class hermes.ChatOptions
---@field layout "vsplit"|"split"|"float"  Where the chat window opens.
---@field width number  vsplit/float width: columns (> 1) or a fraction of the editor (<= 1).
---@field height number  split/float height: lines (> 1) or a fraction of the editor (<= 1).
---@field position "right"|"left"|"top"|"bottom"  Side for splits (vsplit: right/left, split: bottom/top).
---@field border string|string[]  Border of the float window.
---@field system? string  System prompt sent with every message of a new session.
---@field markdown boolean  Highlight the chat buffer as Markdown (tree-sitter or syntax).
---@field start_insert boolean  Enter insert mode in the prompt area when the chat opens.

---@class hermes.Keymaps
---@field send string|false  Normal mode: send the prompt area.
---@field stop string|false  Normal and insert mode: stop the running reply.
---@field close string|false  Normal mode: close the chat window.
---@field new string|false  Normal mode: start a new session in the chat buffer.
---@field retry string|false  Normal mode: send the last message again after a retryable error or interrupted reply (:HermesRetry).
---@field insert string|false  Normal mode: insert the code block under the cursor into your file (:HermesInsert).
---@field apply string|false  Normal mode: apply the code block under the cursor to your file as a diff (:HermesApply).

---@class hermes.CompletionOptions
---@field enabled boolean  Ghost-text completion from hermesd while typing (the daemon decides what and when; see |hermes-completion|).
---@field keymaps hermes.CompletionKeymaps  Insert-mode keys; each falls back to the key itself when no suggestion is shown.

---@class hermes.CompletionKeymaps
---@field accept string|false  Accept the whole suggestion.
---@field accept_word string|false  Accept up to the end of the next word.
---@field next string|false  Show the daemon's next suggestion.
---@field prev string|false  Show the daemon's previous suggestion.
---@field dismiss string|false  Hide the suggestion.

---@class hermes.HealthOptions
---@field probe boolean  Let `:checkhealth hermes` probe the providers' catalogs.
---@field timeout_ms integer  How long `:checkhealth hermes` waits for the doctor report.

---@type hermes.Options
M.defaults = {
  autostart = true,
  server = {
    -- `hermesd-lsp`: a name only this project's distribution installs (the
    -- registry's `hermesd` distribution is another program).
    cmd = { "hermesd-lsp", "--stdio" },
    cmd_env = nil,
    shared = true,
    init_timeout_ms = 10000,
    initialize_timeout_ms = 5000,
    request_timeout_ms = 5000,
  },
  chat = {
    layout = "vsplit",
    width = 0.4,
    height = 0.4,
    position = "right",
    border = "rounded",
    system = nil,
    markdown = true,
    start_insert = false,
  },
  keymaps = {
    send = "<CR>",
    stop = "<C-c>",
    close = "q",
    new = false,
    retry = "R",
    insert = "gi",
    apply = "ga",
  },
  health = {
    probe = true,
    timeout_ms = 20000,
  },
  completion = {
    enabled = true,
    keymaps = {
      accept = "<Tab>",
      accept_word = "<M-Right>",
      next = "<M-]>",
      prev = "<M-[>",
      dismiss = "<C-]>",
    },
  },
}

---@type hermes.Options
M.options = vim.deepcopy(M.defaults)

local layouts = { vsplit = true, split = true, float = true }

--- Validate `opts` and raise a readable error naming the first bad field.
---@param opts hermes.Options
local function validate(opts)
  local cmd = opts.server.cmd
  if type(cmd) == "table" then
    if #cmd == 0 or type(cmd[1]) ~= "string" then
      error("hermes: server.cmd must be a non-empty list of strings, e.g. { 'hermesd-lsp', '--stdio' }", 0)
    end
  elseif type(cmd) ~= "function" then
    error("hermes: server.cmd must be a list of strings or a function", 0)
  end
  local t = opts.server.initialize_timeout_ms
  if type(t) ~= "number" or t <= 0 then
    error(("hermes: server.initialize_timeout_ms must be a positive number (got %s)"):format(vim.inspect(t)), 0)
  end
  if not layouts[opts.chat.layout] then
    local got = vim.inspect(opts.chat.layout)
    error(("hermes: chat.layout must be 'vsplit', 'split' or 'float' (got %s)"):format(got), 0)
  end
  for _, key in ipairs({ "width", "height" }) do
    local v = opts.chat[key]
    if type(v) ~= "number" or v <= 0 then
      error(("hermes: chat.%s must be a positive number (got %s)"):format(key, vim.inspect(v)), 0)
    end
  end
  for prefix, keymaps in pairs({ ["keymaps."] = opts.keymaps, ["completion.keymaps."] = opts.completion.keymaps }) do
    for name, lhs in pairs(keymaps) do
      if lhs ~= false and type(lhs) ~= "string" then
        error(("hermes: %s%s must be a key sequence or false (got %s)"):format(prefix, name, vim.inspect(lhs)), 0)
      end
    end
  end
  if type(opts.completion.enabled) ~= "boolean" then
    error(("hermes: completion.enabled must be true or false (got %s)"):format(vim.inspect(opts.completion.enabled)), 0)
  end
end

--- Merge `opts` over the defaults and store the result in `M.options`.
---
--- Lists (such as `server.cmd`) replace the default rather than being merged
--- index by index. A string `server.cmd` is split on white space.
---@param opts? table
---@return hermes.Options
function M.setup(opts)
  opts = opts or {}
  if type(opts) ~= "table" then
    error("hermes: setup() expects a table of options", 0)
  end
  local merged = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts)
  local user_cmd = opts.server and opts.server.cmd
  if type(user_cmd) == "string" then
    merged.server.cmd = vim.split(user_cmd, "%s+", { trimempty = true })
  elseif user_cmd ~= nil then
    merged.server.cmd = type(user_cmd) == "table" and vim.deepcopy(user_cmd) or user_cmd
  end
  validate(merged)
  M.options = merged
  return merged
end

return M
