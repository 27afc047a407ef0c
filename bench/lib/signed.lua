-- Pre-signed, unique webhook requests for wrk: one request per line of the file named
-- by BENCH_REQUESTS ("id<TAB>timestamp<TAB>signature<TAB>body"), sent in order. Signing
-- inside wrk's loop would make the load generator the bottleneck.
local reqs = {}
local i = 0
local path = os.getenv("BENCH_PATH") or "/webhooks/openai"

init = function(args)
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    local id, ts, sig, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    reqs[#reqs + 1] = wrk.format("POST", path, {
      ["Content-Type"] = "application/json",
      ["webhook-id"] = id,
      ["webhook-timestamp"] = ts,
      ["webhook-signature"] = sig,
    }, body)
  end
end

request = function()
  i = i + 1
  if i > #reqs then i = 1 end
  return reqs[i]
end
