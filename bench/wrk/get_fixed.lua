-- SPDX-License-Identifier: Apache-2.0
-- GET of one fixed path, BENCH_PATH (the static-file and constant-responder
-- baselines). The request is built once; request() only counts.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local req

function init(args)
  req = wrk.format("GET", os.getenv("BENCH_PATH") or "/")
end

function request()
  bench_count()
  return req
end
