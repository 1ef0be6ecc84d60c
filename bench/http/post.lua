-- wrk script: POST JSON to the path given with the URL. With BODIES (a file of one JSON
-- body per line) each request takes the next line, so senders, recipients and texts vary
-- as in real traffic; otherwise every request sends the file named by BODY.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local many = os.getenv("BODIES")
if many then
  local bodies = {}
  for line in io.lines(many) do bodies[#bodies + 1] = line end
  local i = 0
  request = function()
    i = i % #bodies + 1
    return wrk.format(nil, nil, nil, bodies[i])
  end
else
  local f = assert(io.open(os.getenv("BODY"), "rb"))
  wrk.body = f:read("*a")
  f:close()
end
