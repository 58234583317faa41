-- wrk script for bench/soak.sh: cycles through the reviews listed in REQUESTS_FILE
-- ("<path>\t<body file>\t<uid>\t<expected: allowed|denied|patched>" per line), one class
-- after the other, each connection pausing DELAY_MS between requests (a steady rate), and
-- checks every answer: status 200, an AdmissionReview carrying a known uid, and the
-- expected outcome. done() prints one line "SOAK key=value ...".
local threads = {}
local classes = { "allowed", "denied", "patched" }
-- Per-thread tallies are globals: done() reads them with thread:get.
local tallies = { "ok", "status_errors", "undecodable", "unexpected", "allowed", "denied", "patched" }

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local requests = {}
local expect = {}
local delay_ms = tonumber(os.getenv("DELAY_MS") or "10")
local next_index = 0

function init(args)
  for _, k in ipairs(tallies) do _G[k] = 0 end
  local by_class = { allowed = {}, denied = {}, patched = {} }
  for line in io.lines(os.getenv("REQUESTS_FILE")) do
    local path, file, uid, class = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)$")
    local f = assert(io.open(file, "rb"))
    local body = f:read("*a")
    f:close()
    expect[uid] = class
    table.insert(by_class[class], wrk.format("POST", path .. "?timeout=10s",
      { ["Content-Type"] = "application/json" }, body))
  end
  -- Interleave the classes so every stretch of time sees all three.
  local longest = math.max(#by_class.allowed, #by_class.denied, #by_class.patched)
  for i = 1, longest do
    for _, class in ipairs(classes) do
      local list = by_class[class]
      if #list > 0 then table.insert(requests, list[(i - 1) % #list + 1]) end
    end
  end
  -- Threads start at different places in the cycle.
  next_index = (id * 7) % #requests
end

function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end

function delay()
  return delay_ms
end

function response(status, headers, body)
  if status ~= 200 then
    status_errors = status_errors + 1
  else
    local uid = body:match('"uid"%s*:%s*"([^"]*)"')
    local allowed = body:match('"allowed"%s*:%s*(%a+)')
    local want = uid and expect[uid]
    if not want or (allowed ~= "true" and allowed ~= "false") or
        not body:match('^%s*{"apiVersion"%s*:%s*"admission%.k8s%.io/v1') then
      undecodable = undecodable + 1
    else
      local got = "denied"
      if allowed == "true" then
        got = body:find('"patch"%s*:') and "patched" or "allowed"
      end
      _G[got] = _G[got] + 1
      if got == want then
        ok = ok + 1
      else
        unexpected = unexpected + 1
      end
    end
  end
end

function done(summary, latency, requests_done)
  local total = {}
  for _, t in ipairs(threads) do
    for _, k in ipairs(tallies) do total[k] = (total[k] or 0) + (t:get(k) or 0) end
  end
  local e = summary.errors
  io.write(string.format(
    "SOAK requests=%d ok=%d status=%d undecodable=%d unexpected=%d socket=%d " ..
    "allowed=%d denied=%d patched=%d p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, total.ok, total.status_errors, total.undecodable, total.unexpected,
    e.connect + e.read + e.write + e.timeout, total.allowed, total.denied, total.patched,
    latency:percentile(50), latency:percentile(99), latency.max))
end
