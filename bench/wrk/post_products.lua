-- POST /api/v1/products with a unique SKU per request (durable writes).
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local token = os.getenv("BENCH_TOKEN")
local n = 0
local thread_counter = 0

function setup(thread)
  thread_counter = thread_counter + 1
  thread:set("tid", thread_counter)
end

function request()
  n = n + 1
  local body = string.format(
    '{"sku":"W-%s-%d-%d","status":"active","seller":"bench","category":"bench",' ..
    '"title":{"en":"Bench write %d"},"price":{"GBP":%d},"stock":5}',
    os.getenv("BENCH_RUN") or "0", tid or 0, n, n, 100 + n % 900)
  return wrk.format("POST", "/api/v1/products", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

function response(status, headers, body)
  bench_count()
end
