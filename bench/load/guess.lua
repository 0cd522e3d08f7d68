-- A password-guessing flood for wrk: every request is a password grant with a new wrong
-- password for one user (scripts/bench-flood.sh). Counts the answers by status.
local counter = 0
local statuses = {}

request = function()
  counter = counter + 1
  local body = "grant_type=password&client_id=admin-cli&username=victim&password=guess-" .. counter
  return wrk.format("POST", os.getenv("BENCH_PATH"), {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end

response = function(status)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  io.write("guess statuses:")
  for s, n in pairs(statuses) do io.write(" " .. s .. "=" .. n) end
  io.write("\n")
end
