-- SPDX-License-Identifier: Apache-2.0
-- Shared by every bench script: a bounded request count and one JSON summary line.
--
-- Each wrk thread stops itself after BENCH_MAX_REQUESTS / BENCH_WRK_THREADS
-- requests (counted in request(), so every script pays the same per-request
-- Lua cost, the fixed-path baselines included). wrk -d bounds the time; the
-- request cap is a safety bound sized far above what the machine can do, and
-- "capped":true in the summary says it was reached (the rate is then too low,
-- because wrk divides by the full -d duration).
local max_requests = tonumber(os.getenv("BENCH_MAX_REQUESTS") or "2000000")
local threads_n = tonumber(os.getenv("BENCH_WRK_THREADS") or "2")
local per_thread = math.ceil(max_requests / threads_n)
local sent = 0
local pace_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")

-- BENCH_DELAY_MS paces each connection: it waits that long between an
-- answer and its next request, so the load stays below saturation and the
-- latency is the service time, not the queue of a closed loop.
if pace_ms > 0 then
  function delay()
    return pace_ms
  end
end

-- Numbers the wrk threads (the global tid: 1, 2, ...) for the scripts that
-- split their work between threads.
local thread_counter = 0
function setup(thread)
  thread_counter = thread_counter + 1
  thread:set("tid", thread_counter)
end

-- The bearer secret, read from the file BENCH_TOKEN_FILE.
function bench_token()
  local f = assert(io.open(os.getenv("BENCH_TOKEN_FILE"), "r"))
  local token = f:read("*l")
  f:close()
  return token
end

-- Call once per request from request(); stops this thread at the cap.
function bench_count()
  sent = sent + 1
  if sent >= per_thread then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"mean_us":%.1f,"errors":%d,"non2xx":%d,"bytes":%d,"capped":%s}\n',
    summary.requests, secs, summary.requests / secs, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    e.connect + e.read + e.write + e.timeout, e.status, summary.bytes,
    tostring(summary.requests >= max_requests)))
end
