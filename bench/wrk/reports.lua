-- wrk script for `posko bench intake --load wrk`: POSTs the reports listed in the file given
-- after `--` (one per line: credential, Idempotency-Key, JSON body, tab-separated), each once,
-- and prints "answered" once every one is answered: wrk's main thread sleeps out -d, so the bench
-- then sends it SIGINT. Connections that run out ask GET /healthz until then (its 200 is not
-- counted). At the end it prints one JSON line: answers by status and the latency histogram
-- ([µs, count] pairs; wrk's own, which includes those few /healthz).
-- sent starts at -1: wrk calls request() once, before any connection, to check what it returns
-- (script_verify_request); that call gets the /healthz request.
local requests, sent, answered, spare = {}, -1, 0, nil
answers = {}

function init(args)
  spare = wrk.format("GET", "/healthz")  -- here: wrk.init has set the Host header by now
  for line in io.lines(args[1]) do
    local key, name, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}
    if name ~= "" then headers["Idempotency-Key"] = name end
    requests[#requests + 1] = wrk.format("POST", "/v1/reports", headers, body)
  end
end

function request()
  sent = sent + 1
  return requests[sent] or spare
end

function response(status, headers, body)
  if status ~= 200 then
    answers[tostring(status)] = (answers[tostring(status)] or 0) + 1
    answered = answered + 1
    if answered == #requests then
      io.write("answered\n")
      io.flush()
      wrk.thread:stop()
    end
  end
end

local threads = {}
function setup(thread) threads[#threads + 1] = thread end

function done(summary, latency, requests)
  local parts = {}
  for status, count in pairs(threads[1]:get("answers")) do
    parts[#parts + 1] = string.format('"%s":%d', status, count)
  end
  local histogram = {}
  for i = 1, #latency do
    local value, count = latency(i)
    histogram[#histogram + 1] = string.format("[%d,%d]", value, count)
  end
  io.write(string.format('{"seconds":%.6f,"answers":{%s},"latency_us":[%s]}\n',
    summary.duration / 1e6, table.concat(parts, ","), table.concat(histogram, ",")))
end
