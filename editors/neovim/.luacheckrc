-- luacheck configuration for hermes.nvim (run: luacheck editors/neovim)
std = "luajit"
globals = { "vim" }
read_globals = { "arg" }
max_line_length = 120
