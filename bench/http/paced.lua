-- wrk script: the requests of post.lua (BODIES: one JSON body per line, taken in turn),
-- paced: every connection waits PACE_MS milliseconds (default 10) after each answer before
-- its next request. With C connections the rate is C / (PACE_MS + latency) per second:
-- 125 connections give about 10,000 requests per second while answers take 2.5 ms, and
-- fewer when the server slows down (so the achieved rate is part of the result).
-- wrk costs a fraction of hey's CPU per request, which matters when the generator shares
-- the server's two cores. Run from the repository's root (bench/http-load.sh does).
assert(os.getenv("BODIES"), "BODIES must name a file of bodies")
dofile("bench/http/post.lua")
local pace = tonumber(os.getenv("PACE_MS") or "10")
delay = function()
  return pace
end
