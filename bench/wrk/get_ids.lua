-- GET /api/v1/products/{id} with ids drawn at random from BENCH_IDS (one per line).
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local ids = {}
local prefix = os.getenv("BENCH_PATH_PREFIX") or "/api/v1/products/"

function init(args)
  for line in io.lines(os.getenv("BENCH_IDS")) do
    ids[#ids + 1] = line
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

function request()
  return wrk.format("GET", prefix .. ids[math.random(#ids)])
end

function response(status, headers, body)
  bench_count()
end
