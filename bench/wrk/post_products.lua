-- SPDX-License-Identifier: Apache-2.0
-- POST /api/v1/products with a unique SKU per request (durable writes).
-- The bearer secret is read from the file BENCH_TOKEN_FILE; BENCH_RUN makes
-- the SKUs of one run distinct from every other run's. The document has the
-- shape and size of a catalog product.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local n = 0
local headers

function init(args)
  headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. bench_token(),
  }
end

function request()
  bench_count()
  n = n + 1
  local body = string.format(
    '{"sku":"W-%s-%d-%d","status":"active","seller":"bench","category":"bench",' ..
    '"title":{"en":"Bench write %d with a realistic title"},' ..
    '"description":{"en":"A product written by the benchmark; the description is long enough to look like a real one."},' ..
    '"price":{"GBP":%d,"EUR":%d},"stock":5,"attributes":{"colour":"blue","size":"M"}}',
    os.getenv("BENCH_RUN") or "0", tid or 0, n, n, 100 + n % 900, 120 + n % 900)
  return wrk.format("POST", "/api/v1/products", headers, body)
end
