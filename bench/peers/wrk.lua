-- wrk script of bench/peers/run.sh: POSTs the bodies in the file named by BODIES (separated
-- by NUL bytes) in turn, with the content type CT. Every request is formatted once, in
-- init (wrk has set the Host header by then), so that the load generator spends its time
-- sending, not building strings: it shares the machine's cores with the server it loads.
wrk.method = "POST"
wrk.headers["Content-Type"] = os.getenv("CT")
local requests = {}
local i = 0

init = function(args)
  local f = assert(io.open(os.getenv("BODIES"), "rb"))
  local all = f:read("*a")
  f:close()
  for body in string.gmatch(all, "([^%z]+)") do
    requests[#requests + 1] = wrk.format(nil, nil, nil, body)
  end
end

request = function()
  i = i % #requests + 1
  return requests[i]
end
