-- Shared by every bench script: a bounded request count and one JSON summary line.
local max_requests = tonumber(os.getenv("BENCH_MAX_REQUESTS") or "2000000")
local threads_n = tonumber(os.getenv("BENCH_WRK_THREADS") or "2")
local per_thread = math.ceil(max_requests / threads_n)
local seen = 0

function bench_count()
  seen = seen + 1
  if seen >= per_thread then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_us":%d,"p99_us":%d,"max_us":%d,"errors":%d,"non2xx":%d}\n',
    summary.requests, secs, summary.requests / secs, latency:percentile(50),
    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.timeout, e.status))
end
