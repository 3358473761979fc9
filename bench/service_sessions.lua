-- wrk script for bench/service_load.sh: starts online sessions of round
-- 2026 (open participation) and writes "<session_id> <token>" lines to
-- $SESSIONS_DIR/sessions.<thread> (line-buffered). Each thread stops after
-- $SESSIONS_PER_THREAD; wrk itself runs for its -d, so the caller counts the
-- lines and ends wrk with SIGINT (which still prints the summary).

wrk.method = "POST"
wrk.path = "/api/v1/rounds/2026/sessions"
wrk.body = '{"mode":"online","lang":"zh-CN"}'
wrk.headers["Content-Type"] = "application/json"

-- setup() and `threads`: bench/wrk_threads.lua, beside this script.
dofile(debug.getinfo(1, "S").source:match("^@(.-)[^/]*$") .. "wrk_threads.lua")

function init(args)
  local dir = os.getenv("SESSIONS_DIR")
  quota = tonumber(os.getenv("SESSIONS_PER_THREAD"))
  out = assert(io.open(dir .. "/sessions." .. tid, "w"))
  out:setvbuf("line")
  made = 0
  failed = 0
end

function response(status, headers, body)
  if status == 201 then
    local id = body:match('"session_id":"([^"]+)"')
    local token = body:match('"token":"([^"]+)"')
    if id and token then
      out:write(id, " ", token, "\n")
      made = made + 1
    else
      failed = failed + 1
    end
  else
    failed = failed + 1
  end
  if made >= quota then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local made_all, failed_all = 0, 0
  for _, t in ipairs(threads) do
    made_all = made_all + t:get("made")
    failed_all = failed_all + t:get("failed")
  end
  io.write(string.format("SESSIONS made=%d failed=%d rate=%.0f/s\n",
    made_all, failed_all, made_all / (summary.duration / 1e6)))
end
