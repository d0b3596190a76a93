-- End-to-end scenarios for hermes.nvim, run by tests/editors/test_neovim.py:
--
--   nvim --headless --clean -u editors/neovim/tests/minimal_init.lua \
--        -l editors/neovim/tests/e2e.lua SCENARIO OUT.json
--
-- Environment: HERMES_TEST_CMD (JSON list: the daemon command), and whatever
-- the daemon needs (HERMES_HOME, OPENROUTER_API_KEY, OPENROUTER_BASE_URL
-- pointing at the recording upstream on 127.0.0.1). Each scenario drives the
-- real plugin and the real hermesd, then writes what it saw to OUT.json for
-- pytest to assert on. Every wait is bounded.

local scenario, out_path = arg[1], arg[2]
assert(scenario and out_path, "usage: e2e.lua SCENARIO OUT.json")

local R = { scenario = scenario, notifications = {}, steps = {} }

-- Capture notifications instead of printing them.
vim.notify = function(msg, level)
  table.insert(R.notifications, { msg = tostring(msg), level = level or vim.log.levels.INFO })
end

local function wait(ms, cond, what)
  if not vim.wait(ms, cond, 20) then
    error(("timed out after %d ms waiting for %s"):format(ms, what), 2)
  end
end

local function step(name)
  table.insert(R.steps, name)
end

local function buf_lines(buf)
  return vim.api.nvim_buf_get_lines(buf, 0, -1, false)
end

local function setup(extra)
  local cmd_json = os.getenv("HERMES_TEST_CMD")
  assert(cmd_json, "HERMES_TEST_CMD not set")
  local cmd = vim.json.decode(cmd_json)
  require("hermes").setup(vim.tbl_deep_extend("force", {
    server = { cmd = cmd, init_timeout_ms = 15000, shared = os.getenv("HERMES_TEST_SHARED") ~= "0" },
    health = { timeout_ms = 15000 },
  }, extra or {}))
end

local chat = function()
  return require("hermes.chat")
end

local function wait_reply_done(ms)
  wait(ms or 15000, function()
    return chat().state.running == nil
  end, "the reply to end")
end

local function notification_matching(pattern)
  for _, n in ipairs(R.notifications) do
    if n.msg:find(pattern) then
      return n
    end
  end
end

local scenarios = {}

-- A streamed reply, the header (routed model), a follow-up sent with <CR>
-- from the prompt area, and the statusline.
function scenarios.stream()
  setup()
  local deltas = 0
  require("hermes.client").on("chatDelta", function()
    deltas = deltas + 1
  end)
  vim.cmd("HermesChat Say hello")
  local buf = chat().state.buf
  R.chat_buf_name = vim.api.nvim_buf_get_name(buf)
  R.chat_filetype = vim.bo[buf].filetype
  R.chat_in_window = vim.api.nvim_win_get_buf(0) == buf
  wait_reply_done()
  step("first reply")
  R.deltas = deltas
  R.first = buf_lines(buf)
  R.header = R.first[1]
  R.session_id = chat().state.session_id
  R.statusline = require("hermes").statusline()

  -- Type a follow-up in the prompt area and press <CR> in normal mode.
  vim.api.nvim_set_current_buf(buf)
  local n = vim.api.nvim_buf_line_count(buf)
  vim.api.nvim_buf_set_lines(buf, n - 1, n, false, { "And again" })
  vim.cmd("stopinsert")
  vim.api.nvim_feedkeys(vim.keycode("<CR>"), "mx", false)
  wait(2000, function()
    return chat().state.running ~= nil or #buf_lines(buf) > #R.first + 2
  end, "<CR> to send the prompt")
  wait_reply_done()
  step("second reply")
  R.second = buf_lines(buf)
  R.second_session_id = chat().state.session_id
  -- Issue 34: the daemon's footer under each reply and the session meter after the header (virtual text).
  R.footers = chat().footers()
  R.footer_rows = {}
  for _, m in ipairs(vim.api.nvim_buf_get_extmarks(buf, vim.api.nvim_create_namespace("hermes.usage"), 0, -1, { details = true })) do
    if m[4].virt_lines then
      table.insert(R.footer_rows, m[2])
    end
  end
  R.meter = chat().meter_text()
  local usage_buf = require("hermes.usage").open("7d model")
  wait(5000, function()
    return (buf_lines(usage_buf)[1] or ""):find("^usage since") ~= nil
  end, ":HermesUsage to show the report")
  R.usage_report = buf_lines(usage_buf)
  vim.cmd("close")

  -- q closes the window; :HermesChat brings the same buffer back.
  local wins_before = #vim.api.nvim_tabpage_list_wins(0)
  vim.api.nvim_set_current_win(vim.fn.win_findbuf(buf)[1])
  vim.api.nvim_feedkeys("q", "mx", false)
  R.closed = #vim.fn.win_findbuf(buf) == 0 and #vim.api.nvim_tabpage_list_wins(0) == wins_before - 1
  vim.cmd("HermesChat")
  R.reopened_same = vim.api.nvim_win_get_buf(0) == buf
  R.reopened_lines = buf_lines(buf)

  -- :HermesNew clears the transcript and the session.
  vim.cmd("HermesNew")
  R.after_new = buf_lines(buf)
  R.after_new_session = chat().state.session_id or vim.NIL
end

-- A long reply stopped with <C-c> in the chat buffer: the partial text stays.
function scenarios.cancel()
  setup()
  local t0 = vim.uv.hrtime()
  vim.cmd("HermesChat Tell me a long story")
  local buf = chat().state.buf
  wait(10000, function()
    local run = chat().state.running
    return run ~= nil and #run.text >= 12
  end, "some streamed text")
  R.partial_before_stop = chat().state.running.text
  vim.api.nvim_set_current_win(vim.fn.win_findbuf(buf)[1])
  vim.api.nvim_feedkeys(vim.keycode("<C-c>"), "mx", false)
  R.header_while_stopping = buf_lines(buf)[1]
  wait_reply_done(10000)
  R.elapsed_ms = (vim.uv.hrtime() - t0) / 1e6
  R.lines = buf_lines(buf)
  R.session_id = chat().state.session_id
  -- :HermesStop with nothing running says so.
  vim.cmd("HermesStop")
  R.stop_idle_notice = notification_matching("nothing is running") ~= nil
end

-- :'<,'>HermesChat sends the selected lines with the file name and filetype.
function scenarios.visual()
  setup()
  local dir = assert(os.getenv("HERMES_TEST_TMP"))
  local path = dir .. "/sample.lua"
  vim.fn.writefile({ "local function add(a, b)", "  return a + b", "end", "print(add(1, 2))" }, path)
  vim.cmd.edit(vim.fn.fnameescape(path))
  R.source_filetype = vim.bo.filetype
  vim.cmd("1,3HermesChat What does this do?")
  wait_reply_done()
  R.lines = buf_lines(chat().state.buf)
  R.lsp_attached_to_file = #vim.lsp.get_clients({ bufnr = vim.fn.bufnr(path) })
  R.clients = #vim.lsp.get_clients({ name = "hermesd" })
end

-- Context, code into the buffer, and history: #buffer/#diagnostics, :HermesAdd,
-- :HermesApply through a diffthis split and :HermesAccept, :HermesInsert, and
-- :HermesHistory reopening the first conversation and continuing it.
function scenarios.essentials()
  setup()
  local dir = assert(os.getenv("HERMES_TEST_TMP"))
  local path = dir .. "/sample.py"
  vim.fn.writefile({ "def add(a, b):", "    return a+b", "", "print(add(1, 2))" }, path)
  vim.cmd.edit(vim.fn.fnameescape(path))
  local src = vim.api.nvim_get_current_buf()
  local diag_ns = vim.api.nvim_create_namespace("hermes.test")
  vim.diagnostic.set(diag_ns, src, {
    { lnum = 1, col = 4, message = "missing whitespace around operator", severity = vim.diagnostic.severity.WARN, source = "pycodestyle" },
  })
  R.path = vim.fn.fnamemodify(path, ":p")

  -- 1. #buffer and #diagnostics in the message.
  vim.cmd("HermesChat Explain #buffer with #diagnostics")
  wait_reply_done()
  local buf = chat().state.buf
  R.first_session = chat().state.session_id
  R.context_lines = buf_lines(buf)
  step("variables sent")

  -- 2. :HermesAdd queues context for the next message.
  vim.api.nvim_set_current_win(vim.fn.win_findbuf(src)[1])
  vim.cmd("HermesAdd diagnostics")
  R.queued = #require("hermes.context").pending
  chat().send("What about these?")
  wait_reply_done()
  step("HermesAdd sent")

  -- 3. A new conversation about lines 1-2; :HermesApply replaces them through a diff.
  vim.cmd("HermesNew")
  vim.api.nvim_set_current_win(vim.fn.win_findbuf(src)[1])
  vim.cmd("1,2HermesChat Fix the style")
  wait_reply_done()
  vim.api.nvim_set_current_win(vim.fn.win_findbuf(buf)[1])
  vim.cmd("HermesApply")
  wait(10000, function()
    return require("hermes.code").proposal ~= nil
  end, "the proposed change")
  local proposal = require("hermes.code").proposal
  R.proposal_lines = vim.api.nvim_buf_get_lines(proposal.buf, 0, -1, false)
  R.diff_on = { vim.wo[vim.fn.win_findbuf(src)[1]].diff, vim.wo[vim.fn.win_findbuf(proposal.buf)[1]].diff }
  R.file_before_accept = vim.fn.readfile(path)
  vim.cmd("HermesAccept")
  R.file_after_accept = vim.fn.readfile(path)
  R.diff_after_accept = vim.wo[vim.fn.win_findbuf(src)[1]].diff
  step("applied")

  -- 4. :HermesInsert at the cursor of the file.
  local win = vim.fn.win_findbuf(src)[1]
  vim.api.nvim_set_current_win(win)
  vim.api.nvim_win_set_cursor(win, { vim.api.nvim_buf_line_count(src), 0 })
  vim.api.nvim_set_current_win(vim.fn.win_findbuf(buf)[1])
  vim.cmd("HermesInsert")
  R.after_insert = vim.api.nvim_buf_get_lines(src, 0, -1, false)
  step("inserted")

  -- 5. :HermesHistory lists both conversations; the first is reopened and continued.
  local shown
  vim.ui.select = function(items, opts, on_choice)
    shown = vim.tbl_map(opts.format_item, items)
    for _, item in ipairs(items) do
      if item.sessionId == R.first_session then
        vim.schedule(function()
          on_choice(item)
        end)
      end
    end
  end
  vim.cmd("HermesHistory")
  wait(10000, function()
    return chat().state.session_id == R.first_session
  end, "the first conversation to be reopened")
  R.history = shown
  R.reopened = buf_lines(buf)
  R.reopened_footers = chat().footers()
  R.reopened_meter = chat().meter_text()
  chat().send("And now?")
  wait_reply_done()
  R.continued_session = chat().state.session_id
  -- A filter the daemon applies.
  shown = nil
  vim.ui.select = function(items, opts)
    shown = vim.tbl_map(opts.format_item, items)
  end
  vim.cmd("HermesHistory style")
  wait(10000, function()
    return shown ~= nil
  end, "the filtered history")
  R.filtered = shown
end

-- A vim.ui.select/vim.ui.input pair answering from `answers` and recording
-- what was shown. An answer names a row's id (a model), provider (a setup
-- row) or "setup" (the setup entry).
local function scripted_ui(answers, selects, inputs, typed)
  vim.ui.select = function(items, opts, on_choice)
    local shown = {}
    for _, item in ipairs(items) do
      table.insert(shown, opts.format_item and opts.format_item(item) or tostring(item))
    end
    table.insert(selects, { prompt = opts.prompt, kind = opts.kind, items = items, shown = shown })
    local pick = table.remove(answers, 1)
    for _, item in ipairs(items) do
      local key = item.kind == "setup" and "setup" or (item.id ~= nil and item.id ~= "" and item.id) or item.provider
      if key == pick then
        vim.schedule(function()
          on_choice(item)
        end)
        return
      end
    end
    vim.schedule(function()
      on_choice(nil)
    end)
  end
  vim.ui.input = function(opts, on_confirm)
    table.insert(inputs, { prompt = opts.prompt, default = opts.default })
    vim.schedule(function()
      on_confirm(typed)
    end)
  end
end

-- :HermesModel: the daemon's picker rows, Pareto Code's score asked with the
-- daemon's question, statusline and header following hermes/configChanged.
function scenarios.picker()
  setup()
  local selects, inputs, answers = {}, {}, {}
  scripted_ui(answers, selects, inputs, "0.8")
  local changes = {}
  vim.api.nvim_create_autocmd("User", {
    pattern = "HermesConfigChanged",
    callback = function(ev)
      if ev.data and ev.data.key then
        table.insert(changes, ev.data.key)
      end
    end,
  })

  -- Open the chat first so the header can be checked after the change.
  vim.cmd("HermesChat")
  local buf = chat().state.buf
  wait(15000, function()
    return require("hermes").statusline() ~= ""
  end, "the configured model")
  R.statusline_before = require("hermes").statusline()
  R.header_before = buf_lines(buf)[1]

  -- 1: pick model-a from the upstream's catalog.
  table.insert(answers, "model-a")
  vim.cmd("HermesModel")
  wait(15000, function()
    return require("hermes").statusline() == "model-a"
  end, "the statusline to show model-a")
  R.statusline_after_model_a = require("hermes").statusline()
  R.header_after_model_a = buf_lines(buf)[1]

  -- 2: pick Pareto Code; answer 0.8 for the minimum score.
  table.insert(answers, "openrouter/pareto-code")
  vim.cmd("HermesModel")
  wait(15000, function()
    return require("hermes").statusline() == "openrouter/pareto-code"
  end, "the statusline to show openrouter/pareto-code")
  wait(5000, function()
    return notification_matching("^hermes: Using openrouter/pareto%-code") ~= nil
  end, "the daemon's confirmation")
  R.statusline_after_pareto = require("hermes").statusline()
  R.header_after_pareto = buf_lines(buf)[1]
  R.selects = selects
  R.inputs = inputs
  R.changes = changes
end

-- A model chosen with a conversation open is that conversation's (the default
-- and the statusline stay); :HermesNew follows the default again;
-- :HermesModel! makes the choice the default too.
function scenarios.conversation_model()
  setup()
  local selects, inputs, answers = {}, {}, {}
  scripted_ui(answers, selects, inputs, "")
  vim.cmd("HermesChat first")
  wait_reply_done()
  step("first reply")
  local buf = chat().state.buf

  table.insert(answers, "model-b")
  vim.cmd("HermesModel")
  wait(15000, function()
    return notification_matching("in this conversation") ~= nil
  end, "the conversation's model to be chosen")
  R.chosen_notice = notification_matching("in this conversation").msg
  R.header_b = buf_lines(buf)[1]
  R.statusline_b = require("hermes").statusline()
  chat().send("second")
  wait_reply_done()
  step("second reply")
  R.header_after_second = buf_lines(buf)[1]

  vim.cmd("HermesNew")
  chat().send("third")
  wait_reply_done()
  step("third reply (a new chat)")
  R.header_new = buf_lines(buf)[1]

  table.insert(answers, "model-a")
  vim.cmd("HermesModel!")
  wait(15000, function()
    return require("hermes").statusline() == "model-a"
  end, "the default to become model-a")
  chat().send("fourth")
  wait_reply_done()
  step("fourth reply")
  R.header_default = buf_lines(buf)[1]
  R.chosen = chat().state.chosen or vim.NIL
end

-- Code blocks in a transcript where the model left fences open (no daemon needed).
function scenarios.open_fences()
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, {
    "## Hermes (m)", "Here:", "```python", "def f():", "    return 1", "", "## You", "next",
    "## Hermes (m)", "Closed:", "```sh", "ls", "```", "and open:", "```lua", "print(1)", "", "",
    "──── Prompt (<CR> send) ────", "",
  })
  local code = require("hermes.code")
  R.last = code.block(buf)
  R.first = code.block(buf, 3)
  R.closed = code.block(buf, 11)
  local stopped = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(stopped, 0, -1, false, { "## Hermes (m)", "```go", "package main", "_[stopped]_" })
  R.stopped = code.block(stopped)
end

-- :HermesModel with no key: Pareto Code and the setup entry; the setup list
-- names each provider's key variable; choosing Pareto Code says how to set
-- OpenRouter's key.
function scenarios.picker_no_keys()
  setup()
  local selects, inputs, answers = {}, {}, { "setup", "anthropic" }
  scripted_ui(answers, selects, inputs, "")
  vim.cmd("HermesModel")
  wait(15000, function()
    return notification_matching("ANTHROPIC_API_KEY") ~= nil
  end, "the setup hint")
  R.setup_hint = notification_matching("ANTHROPIC_API_KEY")
  table.insert(answers, "openrouter/pareto-code")
  vim.cmd("HermesModel")
  wait(15000, function()
    return notification_matching("OPENROUTER_API_KEY") ~= nil
  end, "the key hint")
  R.key_hint = notification_matching("OPENROUTER_API_KEY")
  R.selects = selects
  R.inputs = inputs
end

-- :HermesSet refuses with the daemon's message, accepts a good value, and
-- completes the known keys.
function scenarios.set()
  setup()
  vim.cmd("HermesSet openrouter.min_coding_score 1.5")
  wait(15000, function()
    return notification_matching("min_coding_score") ~= nil
  end, "the daemon's answer to 1.5")
  R.refusal = notification_matching("min_coding_score")
  vim.cmd("HermesSet model.temprature 0.5")
  wait(5000, function()
    return notification_matching("temprature") ~= nil
  end, "the daemon's answer to a typo")
  R.typo = notification_matching("temprature")

  local changed
  vim.api.nvim_create_autocmd("User", {
    pattern = "HermesConfigChanged",
    callback = function(ev)
      if ev.data and ev.data.key == "openrouter.min_coding_score" then
        changed = ev.data.value
      end
    end,
  })
  vim.cmd("HermesSet openrouter.min_coding_score 0.5")
  wait(5000, function()
    return changed ~= nil and notification_matching("= 0%.5") ~= nil
  end, "hermes/configChanged and the confirmation")
  R.changed_value = changed
  R.accepted = notification_matching("= 0%.5")

  vim.cmd("HermesSet model.default model-b")
  wait(5000, function()
    return require("hermes").statusline() == "model-b"
  end, "the statusline to show model-b")
  R.statusline = require("hermes").statusline()

  -- :HermesSet! removes a key: back to the default.
  vim.cmd("HermesSet! network.max_retries")
  vim.cmd("HermesSet network.timeout 30")
  wait(5000, function()
    return notification_matching("network%.timeout = 30") ~= nil
  end, "network.timeout = 30")
  vim.cmd("HermesSet! network.timeout")
  wait(5000, function()
    return notification_matching("network%.timeout = 120") ~= nil
  end, "network.timeout back to its default")
  R.reset = notification_matching("network%.timeout = 120")

  R.complete_keys = vim.fn.getcompletion("HermesSet openrouter.", "cmdline")
  R.complete_all = vim.fn.getcompletion("HermesSet ", "cmdline")
  R.complete_values = vim.fn.getcompletion("HermesSet model.reasoning_effort h", "cmdline")

  -- A boolean key: completed as true/false, and :HermesSet with no value offers that choice.
  R.complete_boolean = vim.fn.getcompletion("HermesSet openrouter.response_cache ", "cmdline")
  vim.ui.select = function(items, opts, on_choice)
    R.boolean_choice = { items = items, prompt = opts.prompt }
    vim.schedule(function()
      on_choice("true")
    end)
  end
  vim.cmd("HermesSet openrouter.response_cache")
  wait(5000, function()
    return notification_matching("response_cache = true") ~= nil
  end, "openrouter.response_cache = true")
end

-- An upstream failure is shown in the buffer with the daemon's hint.
function scenarios.error()
  setup()
  vim.cmd("HermesChat Hello?")
  wait_reply_done()
  R.lines = buf_lines(chat().state.buf)
end

-- Two chats with a config value the daemon ignores: one WARN notification, not one per reply.
function scenarios.config_warning()
  setup()
  vim.cmd("HermesChat Hello?")
  wait_reply_done()
  vim.cmd("HermesChat Again?")
  wait_reply_done()
  R.lines = buf_lines(chat().state.buf)
end

-- :checkhealth hermes and :HermesDoctor.
function scenarios.health()
  setup()
  vim.cmd("checkhealth hermes")
  R.health = buf_lines(0)
  pcall(vim.cmd, "tabclose")
  vim.cmd("HermesDoctor")
  local buf = vim.fn.bufnr(require("hermes.doctor").BUF_NAME)
  wait(15000, function()
    local first = buf_lines(buf)[1] or ""
    return not first:find("Running")
  end, "the doctor report")
  R.doctor = buf_lines(buf)
  R.clients = #vim.lsp.get_clients({ name = "hermesd" })
end

-- A daemon command that does not exist: a clear error, no hang.
function scenarios.missing_daemon()
  require("hermes").setup({ server = { cmd = { "/nonexistent/hermesd-missing", "--stdio" } } })
  vim.cmd("HermesChat hi")
  wait_reply_done(5000)
  R.lines = buf_lines(chat().state.buf)
  vim.cmd("checkhealth hermes")
  R.health = buf_lines(0)
  pcall(vim.cmd, "tabclose")

  -- A daemon that dies before the handshake.
  require("hermes").setup({ server = { cmd = { vim.v.progpath, "--clean", "--headless", "+cq 3" } } })
  vim.cmd("HermesNew")
  vim.cmd("HermesChat hi again")
  wait_reply_done(10000)
  R.crash_lines = buf_lines(chat().state.buf)
end

-- Programs called hermesd that are not hermesd's language server
-- (HERMES_TEST_IMPOSTORS: JSON {case: directory holding an executable `hermesd`}):
-- each is refused within its initialize timeout, naming the executable.
function scenarios.impostors()
  local dirs = vim.json.decode((assert(os.getenv("HERMES_TEST_IMPOSTORS"), "HERMES_TEST_IMPOSTORS not set")))
  local path = vim.env.PATH
  R.cases = {}
  for _, case in ipairs({ "hang", "noise", "other" }) do
    vim.env.PATH = dirs[case] .. ":" .. path
    require("hermes.client").stop()
    require("hermes").setup({ server = { cmd = { "hermesd", "--stdio" }, initialize_timeout_ms = 1500 } })
    vim.cmd("HermesNew")
    vim.cmd("HermesChat hi")
    wait_reply_done(8000)
    local lines = buf_lines(chat().state.buf)
    local seen = {}
    wait(5000, function()
      return #vim.lsp.get_clients({ name = "hermesd" }) == 0
    end, "the impostor to be stopped")
    if case == "hang" then
      vim.cmd("checkhealth hermes")
      seen.health = buf_lines(0)
      pcall(vim.cmd, "tabclose")
    end
    seen.lines = lines
    seen.failure = require("hermes.client").info().failure
    R.cases[case] = seen
  end
end

-- A server that says hermesd is starting its shared daemon (HERMES_TEST_SLOW_CMD: it says so,
-- then takes longer than initialize_timeout_ms to answer) is waited for, not refused.
function scenarios.slow_start()
  local cmd = vim.json.decode((assert(os.getenv("HERMES_TEST_SLOW_CMD"), "HERMES_TEST_SLOW_CMD not set")))
  require("hermes").setup({ server = { cmd = cmd, initialize_timeout_ms = 1000 } })
  local t0 = vim.uv.hrtime()
  local c, err = require("hermes.client").wait_ready(30000)
  R.ready = c ~= nil
  R.err = err or vim.NIL
  R.waited_ms = (vim.uv.hrtime() - t0) / 1e6
  R.failure = require("hermes.client").info().failure or vim.NIL
end

-- setup() validation.
-- A model id that is a path: the statusline shows the daemon's short label,
-- from hermes/configChanged and again after a fresh hermes/getConfig.
function scenarios.label()
  setup()
  local path = "/home/u/models/SmolLM2-135M-Instruct-Q8_0.gguf"
  vim.cmd("HermesSet model.default " .. path)
  wait(15000, function()
    return require("hermes").statusline() ~= "" and require("hermes.client").current().model == path
  end, "the statusline to follow the new model")
  R.statusline_changed = require("hermes").statusline()
  local refreshed = false
  require("hermes.client").refresh_config(function()
    refreshed = true
  end)
  wait(5000, function()
    return refreshed
  end, "hermes/getConfig")
  R.statusline_refreshed = require("hermes").statusline()
  R.model = require("hermes.client").current().model
  R.header = require("hermes.chat").header_text()
  -- A reply, then :HermesHistory: the row and the reopened conversation show the label too.
  chat().open()
  chat().send("hi")
  wait_reply_done()
  local session = chat().state.session_id
  chat().new_session()
  vim.ui.select = function(items, opts, on_choice)
    R.history = vim.tbl_map(opts.format_item, items)
    vim.schedule(function()
      on_choice(items[1])
    end)
  end
  vim.cmd("HermesHistory")
  wait(10000, function()
    return chat().state.session_id == session
  end, "the conversation to be reopened")
  R.reopened = buf_lines(chat().state.buf)
  R.reopened_header = chat().header_text()
end

function scenarios.setup_validation()
  local ok, err = pcall(require("hermes").setup, { chat = { layout = "diagonal" } })
  R.bad_layout = { ok = ok, err = tostring(err) }
  ok, err = pcall(require("hermes").setup, { server = { cmd = "hermesd --stdio" }, chat = { layout = "float" } })
  R.string_cmd = { ok = ok, err = tostring(err), cmd = require("hermes.config").options.server.cmd }
  -- Float layout opens a floating window.
  require("hermes").setup({ server = { cmd = { "/nonexistent/hermesd-missing" } }, chat = { layout = "float" } })
  vim.cmd("HermesChat")
  R.float = vim.api.nvim_win_get_config(0).relative ~= ""
  R.commands = {}
  for _, name in ipairs({ "HermesChat", "HermesNew", "HermesStop", "HermesModel", "HermesSet", "HermesDoctor" }) do
    R.commands[name] = vim.fn.exists(":" .. name) == 2
  end
end

-- Prestart: after VimEnter the daemon starts in the background, without a
-- command, and VimEnter itself returns before anything is spawned.
function scenarios.autostart()
  setup()
  local client = require("hermes.client")
  vim.api.nvim_exec_autocmds("VimEnter", { modeline = false })
  R.started_during_vimenter = client.get() ~= nil
  wait(15000, function()
    return client.is_ready()
  end, "the background start")
  R.ready = client.is_ready()
  R.cmd = client.get().config.cmd
  R.ok = true
end

-- autostart = false: nothing starts until a command needs the daemon.
function scenarios.no_autostart()
  setup({ autostart = false })
  vim.api.nvim_exec_autocmds("VimEnter", { modeline = false })
  local after = false
  vim.defer_fn(function() -- timers of equal delay fire in order: the autostart callback has run
    after = true
  end, 0)
  wait(5000, function()
    return after
  end, "the deferred autostart callback")
  R.started = require("hermes.client").get() ~= nil
  R.ok = true
end

-- The pid of the shared daemon running in this test's runtime dir (its lock file holds it).
local function shared_daemon_pid()
  local locks = vim.fn.glob(os.getenv("HERMESD_RUNTIME_DIR") .. "/hermesd-*.lock", false, true)
  assert(#locks == 1, "one shared daemon expected, found " .. #locks)
  local f = assert(io.open(locks[1], "r"))
  local pid = tonumber(f:read("*a"))
  f:close()
  return pid
end

-- The shared daemon killed (SIGKILL) mid-reply: the reply ends with the forwarder's retryable
-- error, the editor's LSP client stays the same, and :HermesRetry, then a new message, are answered.
function scenarios.daemon_restart()
  setup()
  local hc = require("hermes.client")
  vim.cmd("HermesChat First question")
  local buf = chat().state.buf
  wait(15000, function()
    local run = chat().state.running
    return run ~= nil and run.text ~= ""
  end, "the first streamed words")
  local before = hc.get().id
  R.killed_pid = shared_daemon_pid()
  vim.uv.kill(R.killed_pid, 9)
  wait_reply_done(20000)
  R.after_kill = buf_lines(buf)
  R.retry_offered = chat().state.retry ~= nil
  vim.cmd("HermesRetry")
  wait_reply_done(30000)
  R.after_retry = buf_lines(buf)
  chat().send("Second question")
  wait_reply_done(30000)
  R.after_second = buf_lines(buf)
  R.new_pid = shared_daemon_pid()
  R.same_client = hc.get() ~= nil and hc.get().id == before
  R.clients = #vim.lsp.get_clients({ name = hc.NAME })
  R.ok = true
end

-- A session whose last reply never ended (written by the test as a killed daemon leaves it),
-- reopened from history: the daemon marks it retryable, R sends its message again.
function scenarios.retry_interrupted()
  setup()
  require("hermes.history").reopen(os.getenv("HERMES_TEST_SESSION"))
  wait(15000, function()
    local buf = chat().state.buf
    return buf ~= nil and vim.tbl_contains(buf_lines(buf), "## You")
  end, "the reopened session")
  local buf = chat().state.buf
  R.reopened = buf_lines(buf)
  R.retry_offered = chat().state.retry ~= nil
  vim.api.nvim_set_current_win(vim.fn.bufwinid(buf))
  vim.api.nvim_feedkeys("R", "x", false)
  wait(15000, function()
    return chat().state.running ~= nil or #vim.tbl_filter(function(l)
      return l == "## You"
    end, buf_lines(buf)) == 2
  end, "the message sent again")
  wait_reply_done(30000)
  R.after_retry = buf_lines(buf)
  R.ok = true
end

-- No daemon can replace the killed one (the runtime dir is made writable by others, which the
-- forwarder refuses): the forwarder exits 1 and its stderr line reaches the user.
function scenarios.daemon_gone()
  setup()
  local hc = require("hermes.client")
  hc.start()
  wait(15000, hc.is_ready, "the handshake")
  local run_dir = os.getenv("HERMESD_RUNTIME_DIR")
  local pid = shared_daemon_pid()
  assert(vim.uv.fs_chmod(run_dir, tonumber("777", 8)))
  vim.uv.kill(pid, 9)
  wait(30000, function()
    return notification_matching("could not be restarted") ~= nil
  end, "the forwarder's line")
  assert(vim.uv.fs_chmod(run_dir, tonumber("700", 8)))
  R.shown = notification_matching("could not be restarted")
  R.ok = true
end

-- Runs `body` while Neovim sits in Insert mode, as when a person types:
-- a timer resumes it (a coroutine) every 20 ms, the keys it types go through
-- the typeahead (mappings apply), and <Esc> ends Insert mode when it returns.
local function in_insert_mode(start_keys, body)
  local co = coroutine.create(body)
  local failure
  local timer = assert(vim.uv.new_timer())
  timer:start(50, 20, vim.schedule_wrap(function()
    if timer:is_closing() then
      return
    end
    local ok, err = coroutine.resume(co)
    if not ok then
      failure = debug.traceback(co, tostring(err))
    end
    if coroutine.status(co) == "dead" then
      timer:stop()
      timer:close()
      vim.api.nvim_feedkeys(vim.keycode("<Esc>"), "n", false)
    end
  end))
  vim.api.nvim_feedkeys(start_keys, "tx!", false) -- returns when <Esc> ends Insert mode
  if failure then
    error(failure, 0)
  end
end

local function now_ms()
  return vim.uv.hrtime() / 1e6
end

--- Inside in_insert_mode: wait (yielding to the editor) until cond() holds.
local function co_wait(ms, cond, what)
  local deadline = now_ms() + ms
  while not cond() do
    if now_ms() > deadline then
      error(("timed out after %d ms waiting for %s"):format(ms, what), 2)
    end
    coroutine.yield()
  end
end

local function co_sleep(ms)
  local until_ms = now_ms() + ms
  co_wait(ms + 1000, function()
    return now_ms() >= until_ms
  end, "a pause")
end

--- Inside in_insert_mode: type keys (mappings apply) and let the editor take them.
local function co_type(keys)
  vim.api.nvim_feedkeys(vim.keycode(keys), "mt", false)
  coroutine.yield()
end

--- How many FIM requests the recording upstream has received (HERMES_TEST_UPSTREAM).
local function upstream_completions()
  local res = vim.system({ "curl", "-s", os.getenv("HERMES_TEST_UPSTREAM") .. "/__requests" }):wait()
  local n = 0
  for _, r in ipairs(vim.json.decode(res.stdout ~= "" and res.stdout or "[]")) do
    if r.path:find("/completions$") and not r.path:find("/chat/completions$") then
      n = n + 1
    end
  end
  return n
end

local function upstream_post(path, body)
  vim.system({ "curl", "-s", "-X", "POST", "-H", "Content-Type: application/json", "-d", vim.json.encode(body),
    os.getenv("HERMES_TEST_UPSTREAM") .. path }):wait()
end

local function ghost_extmarks(buf)
  local marks = vim.api.nvim_buf_get_extmarks(buf, require("hermes.completion").ns, 0, -1, { details = true })
  local out = {}
  for _, m in ipairs(marks) do
    local text = {}
    for _, chunk in ipairs(m[4].virt_text or {}) do
      table.insert(text, chunk[1])
    end
    table.insert(out, { row = m[2], col = m[3], text = table.concat(text), virt_lines = #(m[4].virt_lines or {}) })
  end
  return out
end

--- The window as HTML (|TOhtml| renders the inline ghost text): pytest turns it into a PNG.
local function snapshot(name)
  local dir = os.getenv("HERMES_TEST_ARTIFACTS")
  if not dir then
    return
  end
  vim.fn.mkdir(dir, "p")
  vim.o.termguicolors = true
  local html = require("tohtml").tohtml(0, { title = name })
  vim.fn.writefile(html, dir .. "/" .. name .. ".html")
  R.snapshots = R.snapshots or {}
  table.insert(R.snapshots, name)
end

-- Ghost text from the daemon's textDocument/inlineCompletion: typed keys ask,
-- a superseded request is cancelled, <Tab> accepts, <M-Right> takes a word,
-- <C-]> dismisses; the state line and the daemon's registration.
function scenarios.completion()
  R.started_ms = now_ms()
  vim.o.background = "dark"
  setup()
  local completion = require("hermes.completion")
  local file = os.getenv("HERMES_TEST_TMP") .. "/fib.py"
  vim.fn.writefile({ "def fib(n):", "    ", "" }, file)
  vim.cmd.edit(file)
  local buf = vim.api.nvim_get_current_buf()
  R.status_before = { completion.status() }
  require("hermes.client").start()
  wait(15000, function()
    return (completion.status()) == "on"
  end, "the daemon to register textDocument/inlineCompletion")
  R.status_on = { completion.status() }
  R.ready_ms = now_ms() - R.started_ms
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  in_insert_mode("A", function()
    -- "r", then "e" once the request for "r" has reached the (slow) model: the second supersedes
    -- it. The model is fast from then on, so the superseded stream is the only slow one.
    co_type("r")
    co_wait(10000, function()
      return upstream_completions() >= 1
    end, "the first completion request at the upstream")
    upstream_post("/__config", { chunk_delay = 0 })
    co_type("e")
    R.typed_at_ms = now_ms()
    co_wait(10000, completion.visible, "the ghost text")
    R.ghost_ms = now_ms() - R.typed_at_ms
    R.ghost = completion.ghost_text()
    R.extmarks = ghost_extmarks(buf)
    R.line_with_ghost = vim.api.nvim_buf_get_lines(buf, 1, 2, false)[1]
    snapshot("completion-ghost")
    co_type("<Tab>")
    co_wait(2000, function()
      return vim.api.nvim_buf_get_lines(buf, 1, 2, false)[1] ~= R.line_with_ghost
    end, "<Tab> to accept")
    R.accepted_lines = buf_lines(buf)
    R.extmarks_after_accept = ghost_extmarks(buf) -- the next answer may be drawn already, past the text
    R.cursor_after_accept = vim.api.nvim_win_get_cursor(0)
    snapshot("completion-accepted")
    -- A new line: the next suggestion, one word of it, then dismissed. Each step waits for the
    -- answer in flight, so that the one superseded stream at the upstream is the first.
    co_wait(10000, function()
      return not completion.busy()
    end, "the answer after <Tab>")
    co_type("<CR>")
    co_wait(10000, completion.visible, "the ghost text on the new line")
    R.second_ghost = completion.ghost_text()
    local row = vim.api.nvim_win_get_cursor(0)[1]
    R.line_before_word = vim.api.nvim_buf_get_lines(buf, row - 1, row, false)[1]
    co_type("<M-Right>")
    co_wait(2000, function()
      return vim.api.nvim_buf_get_lines(buf, row - 1, row, false)[1] ~= R.line_before_word
    end, "<M-Right> to take a word")
    R.line_after_word = vim.api.nvim_buf_get_lines(buf, row - 1, row, false)[1]
    R.ghost_after_word = completion.ghost_text()
    co_wait(10000, function()
      return not completion.busy()
    end, "the answer after <M-Right>")
    co_type("<C-]>")
    coroutine.yield()
    R.visible_after_dismiss = completion.visible()
    R.extmarks_after_dismiss = #ghost_extmarks(buf)
  end)
  R.mode_after = vim.api.nvim_get_mode().mode
  R.stats = require("hermes.client").request_sync("hermes/completionStats", {})
  R.elapsed_ms = now_ms() - R.started_ms
  -- The switch: off asks nothing and says so in one line.
  vim.cmd("HermesCompletion off")
  R.status_off = { completion.status() }
  vim.cmd("HermesCompletion on")
  R.status_back_on = { completion.status() }
end

local fn = scenarios[scenario]
local ok, err = xpcall(function()
  assert(fn, "unknown scenario " .. scenario)
  fn()
end, debug.traceback)
R.ok = ok
R.error = (not ok) and tostring(err) or vim.NIL

local function sanitize(v)
  if type(v) == "table" then
    local t = {}
    for k, x in pairs(v) do
      t[k] = sanitize(x)
    end
    return t
  elseif type(v) == "function" or type(v) == "userdata" and v ~= vim.NIL then
    return tostring(v)
  end
  return v
end

local f = assert(io.open(out_path, "w"))
f:write(vim.json.encode(sanitize(R)))
f:close()

-- Stop the daemon politely before leaving.
pcall(function()
  local client = require("hermes.client").get()
  if client then
    client:stop()
    vim.wait(2000, function()
      return client:is_stopped()
    end, 20)
  end
end)
vim.cmd("qa!")
