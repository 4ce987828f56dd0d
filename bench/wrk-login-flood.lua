-- A login flood for bench/run.sh: wrong passwords posted to one interaction's login form,
-- each request from a different client address (X-Forwarded-For, honoured because the
-- provider runs with --trusted-proxies 127.0.0.1/32) and for a different, unknown user name,
-- so neither the per-address nor the per-account throttle answers early: every request costs
-- the provider one bcrypt verification, which is what the flood is meant to measure.
--
-- Environment: FLOOD_CSRF (the form's csrf_token), FLOOD_COOKIE (the interaction's cookies).
-- Prints: RESULT <req_per_s> <p50_ms> <p99_ms> <requests> <non2xx> <socket_errors>
local csrf = os.getenv("FLOOD_CSRF") or ""
local cookie = os.getenv("FLOOD_COOKIE") or ""
local counter = 0

function init(args)
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8), 16) or 0))
end

function request()
  counter = counter + 1
  -- 10.x.y.z: 16M addresses, a fresh one per request in practice.
  local address = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  local body = string.format("csrf_token=%s&username=flood-%d-%d&password=wrong-password",
    csrf, math.random(1, 1000000000), counter)
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
    ["X-Forwarded-For"] = address,
  }
  return wrk.format("POST", nil, headers, body)
end

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
