-- wrk script for the sagegate bench: POSTs a small JSON body to the model's invocations path.
--
-- Environment (read once per wrk thread):
--   TOKEN  bearer token; when set, an Authorization header is sent (sagegate only)
--   RATE   requests per second for the whole run (all connections together); 0 or unset means
--          no pacing, i.e. as fast as the connections go (max throughput)
--
-- wrk has no constant-rate mode (wrk2 is not in Debian), so pacing uses wrk's delay() hook,
-- which wrk calls before each request on a connection. A per-thread schedule hands out send
-- slots 1/RATE apart (one wrk thread is used, so it is global); a connection waits until its
-- slot. wrk's timers have 1 ms resolution, so requests leave in small bursts at millisecond
-- boundaries, and a late response delays that connection's next request (coordinated omission:
-- the latencies are service times, not what an open-loop client would see). See bench/README.md.
--
-- done() prints one machine-readable line that run.sh parses:
--   RESULT requests=N seconds=S rps=R p50_us=.. p90_us=.. p99_us=.. p999_us=.. max_us=.. errors=E non2xx=M

local ffi = require("ffi")
ffi.cdef[[
  typedef struct { long tv_sec; long tv_nsec; } sg_timespec;
  int clock_gettime(int clk_id, sg_timespec *tp);
]]
local ts = ffi.new("sg_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

wrk.method = "POST"
-- BODY overrides the body (bench/openai-cpu.sh sends a chat completion request).
wrk.body = os.getenv("BODY") or '{"text":"great product"}'
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

local rate = tonumber(os.getenv("RATE") or "0") or 0
local interval = rate > 0 and 1000.0 / rate or 0
local next_slot = nil

if rate > 0 then
  function delay()
    local t = now_ms()
    if next_slot == nil or next_slot < t - 5 then
      -- first call, or more than 5 ms behind: restart the schedule instead of bursting to catch up
      next_slot = t
    end
    local slot = next_slot
    next_slot = next_slot + interval
    local wait = slot - t
    if wait < 0 then
      return 0
    end
    return math.floor(wait + 0.5)
  end
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d errors=%d non2xx=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, errors, e.status))
end
