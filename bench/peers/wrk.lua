-- wrk script of bench/peers/run.sh: POSTs the bodies in the file named by BODIES (separated
-- by NUL bytes) in turn, with the content type CT.
wrk.method = "POST"
wrk.headers["Content-Type"] = os.getenv("CT")
local f = assert(io.open(os.getenv("BODIES"), "rb"))
local all = f:read("*a")
f:close()
local bodies = {}
for body in string.gmatch(all, "([^%z]+)") do bodies[#bodies + 1] = body end
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
