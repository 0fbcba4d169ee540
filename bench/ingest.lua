-- Replays pre-signed Stripe deliveries (one file per wrk thread: "<signature>\t<body>" lines).
-- Every event id is unique; counts non-2xx answers; prints one RESULT line as JSON.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  reqs = {}
  idx = 0
  non2xx = 0
  wrapped = 0
  for line in io.lines(args[1] .. "." .. tid) do
    local tab = line:find("\t", 1, true)
    reqs[#reqs + 1] = wrk.format("POST", nil, {
      ["Content-Type"] = "application/json; charset=utf-8",
      ["Stripe-Signature"] = line:sub(1, tab - 1),
    }, line:sub(tab + 1))
  end
end

function request()
  idx = idx + 1
  if idx > #reqs then
    idx = 1
    wrapped = wrapped + 1
  end
  return reqs[idx]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local bad, wraps = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("non2xx")
    wraps = wraps + t:get("wrapped")
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "non2xx": %d, '
      .. '"socket_errors": %d, "wrapped": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    bad, e.connect + e.read + e.write + e.timeout, wraps))
end
