-- Minimal init for the end-to-end tests (tests/editors/test_neovim.py) and
-- for trying the plugin from the checkout:
--
--   nvim --clean -u editors/neovim/tests/minimal_init.lua
--
-- It puts this plugin (editors/neovim) first on 'runtimepath' and nothing else.
local here = debug.getinfo(1, "S").source:sub(2)
local root = vim.fn.fnamemodify(here, ":p:h:h")
vim.opt.runtimepath:prepend(root)
vim.opt.swapfile = false
vim.opt.shadafile = "NONE"
vim.g.hermes_test_root = root
