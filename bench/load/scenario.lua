-- wrk script for scripts/bench.sh: one scenario of the benchmark, the same for scimd and
-- for the baseline. Everything comes from the environment:
--
--   BENCH_SCENARIO  get | filter | page | cursor | post | patch | bulk
--   BENCH_BULK_SIZE user creates per bulk request (bulk; 1000)
--   BENCH_BASE      the SCIM base path, e.g. /realms/bench/scim/v2
--   BENCH_TOKEN     the bearer token
--   BENCH_IDS       ids of seeded users, one a line (get, patch), written by seed.py
--   BENCH_NAMES     their userNames, one a line (filter), written by seed.py
--   BENCH_RUN       a prefix unique to this wrk run: POSTed userNames are RUN-THREAD-N
--   BENCH_OUT       where the JSON summary goes (stdout when unset)
--
--   wrk -t2 -c32 -d10s -s bench/load/scenario.lua http://127.0.0.1:8080

local scenario = os.getenv("BENCH_SCENARIO") or "get"
local base = os.getenv("BENCH_BASE") or "/realms/bench/scim/v2"
local token = os.getenv("BENCH_TOKEN") or ""
local run = os.getenv("BENCH_RUN") or tostring(os.time())
local bulk_size = tonumber(os.getenv("BENCH_BULK_SIZE") or "1000")

local USER = "urn:ietf:params:scim:schemas:core:2.0:User"
local PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

-- setup() runs in the main Lua state; each thread gets its own state and a `tid` global.
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local function lines(path)
  if not path then error("BENCH_IDS / BENCH_NAMES not set for scenario " .. scenario) end
  local t = {}
  for l in io.lines(path) do
    if l ~= "" then t[#t + 1] = l end
  end
  if #t == 0 then error(path .. " is empty") end
  return t
end

local headers, ids, names
local counter = 0

function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
  headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/scim+json",
    ["Accept"] = "application/scim+json",
  }
  if scenario == "get" or scenario == "patch" then ids = lines(os.getenv("BENCH_IDS")) end
  if scenario == "filter" then names = lines(os.getenv("BENCH_NAMES")) end
end

local function user(name)
  return '{"schemas":["' .. USER .. '"],"userName":"' .. name .. '",'
    .. '"name":{"givenName":"Given ' .. name .. '","familyName":"Family"},'
    .. '"emails":[{"value":"' .. name .. '@example.com","type":"work","primary":true}],'
    .. '"active":true}'
end

function request()
  if scenario == "get" then
    return wrk.format("GET", base .. "/Users/" .. ids[math.random(#ids)], headers)
  elseif scenario == "filter" then
    local name = names[math.random(#names)]
    return wrk.format("GET", base .. "/Users?filter=userName%20eq%20%22" .. name .. "%22", headers)
  elseif scenario == "page" then
    return wrk.format("GET", base .. "/Users?startIndex=1&count=100", headers)
  elseif scenario == "cursor" then
    -- RFC 9865's first page; the baseline, which has no cursors, answers its first page.
    -- How a cursor page costs at depth is in the scale scenarios (BENCH_SCALE).
    return wrk.format("GET", base .. "/Users?count=100&cursor=", headers)
  elseif scenario == "post" then
    counter = counter + 1
    local name = run .. "-" .. (tid or 0) .. "-" .. counter
    return wrk.format("POST", base .. "/Users", headers, user(name))
  elseif scenario == "bulk" then
    local ops = {}
    for i = 1, bulk_size do
      counter = counter + 1
      local name = run .. "-" .. (tid or 0) .. "-" .. counter
      ops[i] = '{"method":"POST","path":"/Users","bulkId":"b' .. i .. '","data":' .. user(name) .. '}'
    end
    local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":['
      .. table.concat(ops, ",") .. ']}'
    return wrk.format("POST", base .. "/Bulk", headers, body)
  elseif scenario == "patch" then
    local body = '{"schemas":["' .. PATCH .. '"],"Operations":[{"op":"replace",'
      .. '"path":"displayName","value":"display ' .. math.random(1000000000) .. '"}]}'
    return wrk.format("PATCH", base .. "/Users/" .. ids[math.random(#ids)], headers, body)
  end
  error("unknown BENCH_SCENARIO " .. scenario)
end

function done(summary, latency, requests)
  local e = summary.errors
  local ms = function(us) return us / 1000.0 end
  local out = string.format(
    '{"scenario":"%s","requests":%d,"duration_s":%.3f,"rps":%.1f,'
      .. '"latency_ms":{"mean":%.3f,"p50":%.3f,"p90":%.3f,"p99":%.3f,"max":%.3f},'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d}}',
    scenario, summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    ms(latency.mean), ms(latency:percentile(50)), ms(latency:percentile(90)),
    ms(latency:percentile(99)), ms(latency.max),
    e.connect, e.read, e.write, e.timeout, e.status)
  local path = os.getenv("BENCH_OUT")
  if path and path ~= "" then
    local f = assert(io.open(path, "w"))
    f:write(out .. "\n")
    f:close()
  else
    io.write(out .. "\n")
  end
end
