-- A password-guessing flood for wrk: every request is a password grant with a new wrong
-- password for one name (scripts/bench-flood.sh). Counts the answers by status, over all
-- of wrk's threads.
local threads = {}

setup = function(thread)
  table.insert(threads, thread)
end

init = function()
  counter = 0
  statuses = {}
end

request = function()
  counter = counter + 1
  local body = "grant_type=password&client_id=" .. (os.getenv("BENCH_FLOOD_CLIENT") or "admin-cli") .. "&username=victim&password=guess-" .. counter
  return wrk.format("POST", os.getenv("BENCH_PATH"), {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end

response = function(status)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function()
  local total = {}
  for _, t in ipairs(threads) do
    for s, n in pairs(t:get("statuses")) do total[s] = (total[s] or 0) + n end
  end
  io.write("guess statuses:")
  for s, n in pairs(total) do io.write(" " .. s .. "=" .. n) end
  io.write("\n")
end
