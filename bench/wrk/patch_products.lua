-- SPDX-License-Identifier: Apache-2.0
-- PATCH /api/v1/products/{id} with If-Match: durable updates of existing
-- products (a JSON merge patch of stock and one price; souk stores the whole
-- merged document as the new version).
--
-- The ids in BENCH_IDS (one per line, each product at version 1 when the
-- bench starts) are cut into BENCH_SLICES equal slices, one per PATCH run
-- (BENCH_SLICE, from 0), and each wrk thread patches every
-- BENCH_WRK_THREADS-th id of its run's slice: no product is patched by two
-- threads or two runs, so each thread knows every version it patches. A
-- thread that has patched all of its ids starts over at the next version.
-- wrk calls request() once before the run to look at the request (thread 1
-- only) and does not send that one, so the first call of every thread is a
-- GET, which changes nothing whether it is sent or not.
-- The bearer secret is read from the file BENCH_TOKEN_FILE.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local packed, width, count, headers
local n, lap, started = 0, 1, false

function init(args)
  local slice = tonumber(os.getenv("BENCH_SLICE") or "0")
  local slices = tonumber(os.getenv("BENCH_SLICES") or "1")
  local threads = tonumber(os.getenv("BENCH_WRK_THREADS") or "1")
  local all = {}
  for line in io.lines(os.getenv("BENCH_IDS")) do
    if #line > 0 then
      all[#all + 1] = line
    end
  end
  local per = math.floor(#all / slices)
  local first = slice * per + 1
  local mine = {}
  for i = first + (tid or 1) - 1, first + per - 1, threads do
    mine[#mine + 1] = all[i]
  end
  if #mine == 0 then
    error("BENCH_IDS: no ids for slice " .. slice .. " of " .. slices)
  end
  width = #mine[1]
  count = #mine
  packed = table.concat(mine)
  all, mine = nil, nil
  collectgarbage("collect")
  headers = {
    ["Content-Type"] = "application/merge-patch+json",
    ["Authorization"] = "Bearer " .. bench_token(),
    ["If-Match"] = '"1"',
  }
end

function request()
  bench_count()
  if not started then
    started = true
    return wrk.format("GET", "/api/v1/products/" .. string.sub(packed, 1, width))
  end
  if n == count then
    n = 0
    lap = lap + 1
    headers["If-Match"] = '"' .. lap .. '"'
  end
  local id = string.sub(packed, n * width + 1, (n + 1) * width)
  n = n + 1
  local body = string.format('{"stock":%d,"price":{"GBP":%d}}', n % 1000, 100 + (n + lap) % 900)
  return wrk.format("PATCH", "/api/v1/products/" .. id, headers, body)
end
