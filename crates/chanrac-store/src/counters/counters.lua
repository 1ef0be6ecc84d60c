-- chanrac's windowed counters in Redis: one call applies a whole batch of operations.
--
-- This is the Redis twin of crates/chanrac-store/src/counters/entry.rs: each key is one
-- string of little-endian u32 words with the same layout and the same steps, HyperLogLogs
-- included, so that the Rust side (which applies batches optimistically, WATCH/MULTI) and
-- this script (the fallback when another node keeps changing the same keys) share one
-- format. The conformance suite runs against both paths.
--
-- KEYS: the distinct keys of the batch.
-- ARGV[1]: the operations, 13 u32 words each: key index (1-based), time (seconds since
-- 2000-01-01), kind (1 count, 2 distinct, 3 history), member fingerprint, tag, ttl, number
-- of windows, 4 windows, new window, history.
-- Returns every operation's values, concatenated.

local BASE = 946684800
local SMALL_MAX = 64
local HCAP = 64
local HLL = 2147483648
local MAXU = 4294967295
local TWO32 = 4294967296
local HLL_WORDS = 256
local HLL_M = 1024
local POW = {1, 256, 65536, 16777216}

local blob = ARGV[1]
local cache = {}
local last = {}
local out = {}

local function hdr(w)
  local h = w[3]
  return h % 8, math.floor(h / 8) % 8, math.floor(h / 64) % 2
end

local function set_hdr(w, nc, nd, hh)
  w[3] = nc + nd * 8 + hh * 64
end

local function set_len(w, at)
  if w[at] >= HLL then return 1 + HLL_WORDS end
  return 1 + w[at]
end

local function est(w, at)
  if w[at] >= HLL then return w[at] - HLL end
  return w[at]
end

local function offsets(w)
  local nc, nd, hh = hdr(w)
  local cs, cl = 4, 0
  if nc > 0 then cl = 2 + 2 * nc end
  local ds, dl = cs + cl, 0
  if nd > 0 then
    dl = 2
    for _ = 1, 2 * nd do dl = dl + set_len(w, ds + dl) end
  end
  local hs, hl = ds + dl, 0
  if hh == 1 then hl = 7 + 2 * w[hs + 6] end
  return cs, cl, ds, dl, hs, hl
end

-- w with w[start .. start+len-1] replaced by repl.
local function splice(w, start, len, repl)
  local r = {}
  for k = 1, start - 1 do r[#r + 1] = w[k] end
  for k = 1, #repl do r[#r + 1] = repl[k] end
  for k = start + len, #w do r[#r + 1] = w[k] end
  return r
end

local function shift(old, new, win)
  local d = math.floor((BASE + new) / win) - math.floor((BASE + old) / win)
  if d < 0 then return 0 end
  if d > 2 then return 2 end
  return d
end

local function sliding(cur, prev, t, win)
  local elapsed = (BASE + t) % win
  return cur + math.floor(prev * (win - elapsed) / win)
end

local function blank(tag, t, zeros)
  local b = {tag, t}
  for _ = 1, zeros do b[#b + 1] = 0 end
  return b
end

local function op_count(w, o, now)
  local nc, nd, hh = hdr(w)
  local cs, cl = offsets(w)
  if cl == 0 or w[cs] ~= o.tag then w = splice(w, cs, cl, blank(o.tag, now, 2 * o.nwin)) end
  set_hdr(w, o.nwin, nd, hh)
  local clock = w[cs + 1]
  local t = math.max(now, clock)
  for k = 1, o.nwin do
    local win = o.win[k]
    local c = cs + 2 * k
    local p = c + 1
    local d = shift(clock, t, win)
    if d == 1 then
      w[p] = w[c]
      w[c] = 0
    elseif d == 2 then
      w[p] = 0
      w[c] = 0
    end
    w[c] = math.min(w[c] + 1, MAXU)
    out[#out + 1] = sliding(w[c], w[p], t, win)
  end
  w[cs + 1] = t
  return w
end

-- a * b mod 2^32 for a, b < 2^32, exact in doubles.
local function mul32(a, b)
  local ah = math.floor(a / 65536)
  local al = a % 65536
  return ((ah * b) % 65536 * 65536 + al * b) % TWO32
end

local function u32(x)
  if x < 0 then return x + TWO32 end
  return x
end

-- MurmurHash3's finalizer, as entry.rs's hll_hash.
local function hll_hash(fp)
  local h = u32(bit.bxor(fp, 2654435769))
  h = u32(bit.bxor(h, bit.rshift(h, 16)))
  h = mul32(h, 2246822507)
  h = u32(bit.bxor(h, bit.rshift(h, 13)))
  h = mul32(h, 3266489909)
  return u32(bit.bxor(h, bit.rshift(h, 16)))
end

-- Adds a fingerprint to the registers after w[at]; true when a register changed.
local function hll_add(w, at, fp)
  local h = hll_hash(fp)
  local j = math.floor(h / 4194304)
  local x = (h % 4194304) * 1024 + 512
  local rank = 1
  while x < HLL do
    x = x * 2
    rank = rank + 1
  end
  local wi = at + 1 + math.floor(j / 4)
  local p = POW[j % 4 + 1]
  local old = math.floor(w[wi] / p) % 256
  if rank > old then
    w[wi] = w[wi] + (rank - old) * p
    return true
  end
  return false
end

local function hll_estimate(w, at)
  local sum, zeros = 0, 0
  for k = 1, HLL_WORDS do
    local word = w[at + k]
    for b = 1, 4 do
      local r = math.floor(word / POW[b]) % 256
      sum = sum + 2 ^ (-r)
      if r == 0 then zeros = zeros + 1 end
    end
  end
  local alpha = 0.7213 / (1 + 1.079 / HLL_M)
  local e = alpha * HLL_M * HLL_M / sum
  if e <= 2.5 * HLL_M and zeros > 0 then e = HLL_M * math.log(HLL_M / zeros) end
  return math.min(math.floor(e + 0.5), HLL - 1)
end

local function set_insert(w, at, fp)
  local h = w[at]
  if h >= HLL then
    if hll_add(w, at, fp) then w[at] = HLL + hll_estimate(w, at) end
    return w
  end
  for k = 1, h do
    if w[at + k] == fp then return w end
  end
  if h < SMALL_MAX then
    table.insert(w, at + 1 + h, fp)
    w[at] = h + 1
    return w
  end
  -- Too many members for an exact set: promote to a HyperLogLog.
  local regs = {HLL}
  for k = 1, HLL_WORDS do regs[k + 1] = 0 end
  for k = 1, h do hll_add(regs, 1, w[at + k]) end
  hll_add(regs, 1, fp)
  regs[1] = HLL + hll_estimate(regs, 1)
  return splice(w, at, 1 + h, regs)
end

local function op_distinct(w, o, now)
  local nc, _, hh = hdr(w)
  local _, _, ds, dl = offsets(w)
  if dl == 0 or w[ds] ~= o.tag then w = splice(w, ds, dl, blank(o.tag, now, 2 * o.nwin)) end
  set_hdr(w, nc, o.nwin, hh)
  local clock = w[ds + 1]
  local t = math.max(now, clock)
  w[ds + 1] = t
  local at = ds + 2
  for k = 1, o.nwin do
    local win = o.win[k]
    local cl = set_len(w, at)
    local pl = set_len(w, at + cl)
    local d = shift(clock, t, win)
    if d == 1 then
      local moved = {0}
      for x = at, at + cl - 1 do moved[#moved + 1] = w[x] end
      w = splice(w, at, cl + pl, moved)
    elseif d == 2 then
      w = splice(w, at, cl + pl, {0, 0})
    end
    w = set_insert(w, at, o.fp)
    cl = set_len(w, at)
    out[#out + 1] = sliding(est(w, at), est(w, at + cl), t, win)
    at = at + cl + set_len(w, at + cl)
  end
  return w
end

local function op_history(w, o, now)
  local nc, nd = hdr(w)
  local _, _, _, _, s, hl = offsets(w)
  if hl == 0 or w[s] ~= o.tag then w = splice(w, s, hl, blank(o.tag, now, 5)) end
  set_hdr(w, nc, nd, 1)
  local clock = w[s + 1]
  local t = math.max(now, clock)
  w[s + 1] = t
  local d = shift(clock, t, o.nw)
  if d == 1 then
    w[s + 3] = w[s + 2]
    w[s + 5] = w[s + 4]
    w[s + 2] = 0
    w[s + 4] = 0
  elseif d == 2 then
    w[s + 2], w[s + 3], w[s + 4], w[s + 5] = 0, 0, 0, 0
  end
  local n = w[s + 6]
  local m = s + 7
  local kept = {}
  for k = 0, n - 1 do
    local f, l = w[m + 2 * k], w[m + 2 * k + 1]
    if l > t - o.hist then
      kept[#kept + 1] = f
      kept[#kept + 1] = l
    end
  end
  local known = nil
  for k = 1, #kept, 2 do
    if kept[k] == o.fp then known = k end
  end
  if known then
    kept[known + 1] = math.max(kept[known + 1], t)
  else
    if #kept / 2 == HCAP then
      -- Full: the member touched longest ago makes room.
      local oldest = 1
      for k = 1, #kept, 2 do
        if kept[k + 1] < kept[oldest + 1] then oldest = k end
      end
      table.remove(kept, oldest)
      table.remove(kept, oldest)
    end
    kept[#kept + 1] = o.fp
    kept[#kept + 1] = t
  end
  w = splice(w, m, 2 * n, kept)
  n = #kept / 2
  w[s + 6] = n
  if not known then w[s + 2] = math.min(w[s + 2] + 1, MAXU) end
  w[s + 4] = math.min(w[s + 4] + 1, MAXU)
  for k = 1, o.nwin do
    local within = 0
    for x = 0, n - 1 do
      if w[m + 2 * x + 1] > t - o.win[k] then within = within + 1 end
    end
    out[#out + 1] = within
  end
  out[#out + 1] = sliding(w[s + 2], w[s + 3], t, o.nw)
  out[#out + 1] = sliding(w[s + 4], w[s + 5], t, o.nw)
  return w
end

local nops = #blob / 52
for j = 0, nops - 1 do
  local f = {struct.unpack('<I4I4I4I4I4I4I4I4I4I4I4I4I4', blob, j * 52 + 1)}
  local i, now = f[1], f[2]
  local o = {kind = f[3], fp = f[4], tag = f[5], ttl = f[6], nwin = f[7],
             win = {f[8], f[9], f[10], f[11]}, nw = f[12], hist = f[13]}
  local w = cache[i]
  if not w then
    local s = redis.call('GET', KEYS[i])
    if s then
      local n = #s / 4
      w = {struct.unpack('<' .. string.rep('I4', n), s)}
      table.remove(w)
    else
      w = {now, now, 0}
    end
  end
  if now >= w[1] and w[3] ~= 0 then w = {now, now, 0} end
  w[2] = math.max(w[2], now)
  w[1] = math.max(w[1], math.min(now + o.ttl, MAXU))
  if o.kind == 1 then
    w = op_count(w, o, now)
  elseif o.kind == 2 then
    w = op_distinct(w, o, now)
  else
    w = op_history(w, o, now)
  end
  cache[i] = w
  last[i] = math.max(last[i] or 0, now)
end

for i, w in pairs(cache) do
  local ttl = math.max(w[1] - last[i], 1)
  redis.call('SET', KEYS[i], struct.pack('<' .. string.rep('I4', #w), unpack(w)), 'PX', ttl * 1000)
end

return out
