-- SPDX-License-Identifier: Apache-2.0
-- GET BENCH_PATH_PREFIX .. id, ids drawn at random from the file BENCH_IDS
-- (one per line). Product reads: BENCH_PATH_PREFIX=/api/v1/products/ (the
-- default); list pages: /api/v1/products?limit=20&cursor= with cursors in
-- BENCH_IDS.
--
-- The ids are kept in one string of fixed-width entries, not a table of
-- strings: with a million ids a table makes every Lua garbage collection
-- cycle walk a million references, and those pauses of the client showed
-- up as tens of milliseconds of "server" latency at p99.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local prefix = os.getenv("BENCH_PATH_PREFIX") or "/api/v1/products/"
local packed, width, count

function init(args)
  local lines = {}
  for line in io.lines(os.getenv("BENCH_IDS")) do
    if #line > 0 then
      if width == nil then
        width = #line
      elseif #line ~= width then
        error("BENCH_IDS: every id must have the same length")
      end
      lines[#lines + 1] = line
    end
  end
  if #lines == 0 then
    error("BENCH_IDS holds no ids")
  end
  count = #lines
  packed = table.concat(lines)
  lines = nil
  collectgarbage("collect")
  -- a different sequence per thread
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "1", 16) % 1000003)
end

-- BENCH_CHANNELS="uk eu ch" and BENCH_LANGS="en de fr": each request names a
-- channel (X-Souk-Channel) and a language (Accept-Language) drawn at random
local function words(s)
  local t = {}
  for w in string.gmatch(s or "", "%S+") do t[#t + 1] = w end
  return t
end
local channels, langs = words(os.getenv("BENCH_CHANNELS")), words(os.getenv("BENCH_LANGS"))

function request()
  bench_count()
  local i = math.random(count) - 1
  local path = prefix .. string.sub(packed, i * width + 1, (i + 1) * width)
  if #channels == 0 and #langs == 0 then
    return wrk.format("GET", path)
  end
  local h = {}
  if #channels > 0 then h["X-Souk-Channel"] = channels[math.random(#channels)] end
  if #langs > 0 then h["Accept-Language"] = langs[math.random(#langs)] end
  return wrk.format("GET", path, h)
end
