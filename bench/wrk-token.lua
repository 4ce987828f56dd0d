-- wrk script of bench/two-nodes.sh: POSTs WRK_BODY with WRK_AUTH as Authorization, and prints
--   RESULT <req_per_s> <p50_ms> <p99_ms> <requests> <non2xx> <socket_errors>
wrk.method = "POST"
wrk.body = os.getenv("WRK_BODY") or ""
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("WRK_AUTH") or ""
wrk.headers["Accept"] = "application/json"

done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("RESULT %.1f %.3f %.3f %d %d %d\n",
    summary.requests / secs,
    latency:percentile(50) / 1000.0,
    latency:percentile(99) / 1000.0,
    summary.requests,
    e.status,
    e.connect + e.read + e.write + e.timeout))
end
