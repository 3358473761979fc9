-- wrk script for bench/service_load.sh: sustained submits, one per
-- pre-created session (a session is submitted once), each with a fresh
-- submission_id UUID and a full body: all 60 items of csl-2026 and the
-- six demographics. Counts statuses: every submit must be 201 Created.
-- Environment: SESSIONS_FILE ("<session_id> <token>" lines), BODY_FILE
-- (the JSON body without submission_id, starting with '{'), RUN_SALT
-- (hex, makes submission ids unique across runs), WRK_THREADS (wrk -t).

-- setup() and `threads`: bench/wrk_threads.lua, beside this script.
dofile(debug.getinfo(1, "S").source:match("^@(.-)[^/]*$") .. "wrk_threads.lua")

function init(args)
  local nthreads = tonumber(os.getenv("WRK_THREADS"))
  sessions = {}
  local i = 0
  for line in io.lines(os.getenv("SESSIONS_FILE")) do
    if i % nthreads == tid then
      local id, token = line:match("^(%S+) (%S+)$")
      table.insert(sessions, { "/api/v1/sessions/" .. id .. "/submit", "Bearer " .. token })
    end
    i = i + 1
  end
  local f = assert(io.open(os.getenv("BODY_FILE")))
  rest = f:read("*a"):gsub("%s+$", ""):sub(2) -- body without its opening '{'
  f:close()
  salt = tonumber(os.getenv("RUN_SALT"), 16) * 16 + tid
  next_session = 1
  c201, c200, c409, other, exhausted = 0, 0, 0, 0, 0
end

function request()
  local s = sessions[next_session]
  if s == nil then
    -- out of sessions: reuse the last one; the server answers 409 and the
    -- run is reported as failed (create more sessions).
    exhausted = exhausted + 1
    s = sessions[#sessions]
  else
    next_session = next_session + 1
  end
  local uuid = string.format("%08x-0000-4000-8000-%012x", salt, next_session)
  local body = '{"submission_id":"' .. uuid .. '",' .. rest
  return wrk.format("POST", s[1], {
    ["Content-Type"] = "application/json",
    ["Authorization"] = s[2],
  }, body)
end

function response(status, headers, body)
  if status == 201 then
    c201 = c201 + 1
  elseif status == 200 then
    c200 = c200 + 1
  elseif status == 409 then
    c409 = c409 + 1
  else
    other = other + 1
    if other <= 3 then
      io.stderr:write("submit answered ", status, ": ", body:sub(1, 300), "\n")
    end
  end
end

function done(summary, latency, requests)
  local a = { c201 = 0, c200 = 0, c409 = 0, other = 0, exhausted = 0 }
  for _, t in ipairs(threads) do
    for k, _ in pairs(a) do
      a[k] = a[k] + t:get(k)
    end
  end
  local secs = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format(
    "RESULT requests=%d rps=%.0f created_per_s=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f s201=%d s200=%d s409=%d other=%d socket_errors=%d exhausted=%d\n",
    summary.requests, summary.requests / secs, a.c201 / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    a.c201, a.c200, a.c409, a.other, errors, a.exhausted))
end
