---@mod hermes.scratch A read-only report buffer below the current window (:HermesDoctor, :HermesUsage)

local api = vim.api

local M = {}

--- The buffer named `name`, made once (nofile, wiped when hidden, `q` closes it), shown and focused below the
--- current window (at least `min_height` lines, else 30% of the screen).
---@param name string
---@param min_height integer
---@param filetype? string
---@return integer buf
function M.open(name, min_height, filetype)
  local buf = vim.fn.bufnr(name)
  if buf == -1 or not api.nvim_buf_is_valid(buf) then
    buf = api.nvim_create_buf(false, true)
    pcall(api.nvim_buf_set_name, buf, name)
    vim.bo[buf].buftype, vim.bo[buf].bufhidden, vim.bo[buf].swapfile = "nofile", "wipe", false
    if filetype then
      vim.bo[buf].filetype = filetype
    end
    vim.keymap.set("n", "q", "<Cmd>close<CR>", { buffer = buf, nowait = true, desc = "hermes: close" })
  end
  local shown = vim.fn.win_findbuf(buf)
  if #shown > 0 then
    api.nvim_set_current_win(shown[1])
  else
    api.nvim_open_win(buf, true, { split = "below", win = -1, height = math.max(min_height, math.floor(vim.o.lines * 0.3)) })
  end
  return buf
end

--- Replace the buffer's text (it stays read-only); nothing when the buffer is gone.
---@param buf integer
---@param lines string[]
function M.set_lines(buf, lines)
  if not api.nvim_buf_is_valid(buf) then
    return
  end
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
end

return M
