-- GET of one fixed path (the static-file and constant-responder baselines).
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

function response(status, headers, body)
  bench_count()
end
