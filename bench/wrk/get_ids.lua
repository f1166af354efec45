-- GET BENCH_PATH_PREFIX .. id, ids drawn at random from the file BENCH_IDS
-- (one per line). Product reads: BENCH_PATH_PREFIX=/api/v1/products/ (the
-- default); list pages: /api/v1/products?limit=20&cursor= with cursors in
-- BENCH_IDS.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local ids = {}
local prefix = os.getenv("BENCH_PATH_PREFIX") or "/api/v1/products/"

function init(args)
  for line in io.lines(os.getenv("BENCH_IDS")) do
    if #line > 0 then
      ids[#ids + 1] = line
    end
  end
  if #ids == 0 then
    error("BENCH_IDS holds no ids")
  end
  -- a different sequence per thread
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "1", 16) % 1000003)
end

function request()
  bench_count()
  return wrk.format("GET", prefix .. ids[math.random(#ids)])
end
