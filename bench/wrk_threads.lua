-- What the wrk scripts of bench/service_load.sh share (each loads it with
-- dofile, beside itself): numbers wrk's threads (`tid`, from 0, set before
-- their init) and keeps them in `threads`, for done() to sum the threads'
-- counters with t:get(name).

threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
