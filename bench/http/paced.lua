-- wrk script: the requests of post.lua (BODIES: one JSON body per line, taken in turn),
-- paced: every connection waits PACE_MS milliseconds (default 10) after each answer before
-- its next request. With C connections the rate is C / (PACE_MS + latency) per second:
-- 110 connections give about 10,000 requests per second while answers take under 1 ms, and
-- fewer when the server slows down (so the achieved rate is part of the result).
-- wrk costs a fraction of hey's CPU per request, which matters when the generator shares
-- the server's two cores.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {}
local path = assert(os.getenv("BODIES"), "BODIES must name a file of bodies")
for line in io.lines(path) do
  bodies[#bodies + 1] = line
end
local pace = tonumber(os.getenv("PACE_MS") or "10")
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
delay = function()
  return pace
end
