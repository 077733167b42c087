-- Request generator for wrk (benchmarks/load.py writes the globals it reads above this text):
--   method, paths (a list), headers (a table), body (nil or a text where {key} is replaced),
--   run_id (a string unique to the run).
-- Each request takes a path at random; {key} becomes a key unique to this thread and request.
-- done() prints one JSON line with the counts and latency percentiles (microseconds).

local threads = 0
local counter = 0
local prefix = ""

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  math.randomseed(thread_number * 7919 + os.time())
  prefix = run_id .. "-" .. thread_number .. "-"
end

function request()
  counter = counter + 1
  local path = paths[math.random(#paths)]
  local text = nil
  if body then
    text = (body:gsub("{key}", prefix .. counter))
  end
  return wrk.format(method, path, headers, text)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_s": %.6f, "errors": %d, "non_2xx": %d, ' ..
    '"p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1e3, latency:percentile(95) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3))
end
