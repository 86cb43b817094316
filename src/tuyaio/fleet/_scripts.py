"""The fleet's Lua scripts. Each touches the keys of one client key only, all with the same hash
tag (``{…}``), so that they run unchanged on Redis Cluster. Needs Redis 5 or later (a script
that calls ``TIME`` and then writes replicates its effects, the default since 5)."""

from __future__ import annotations

# Take the lock (SET NX PX with our owner value), repairing what no worker sets: a key of another
# type is deleted, a lock without TTL gets one. Returns {taken, repaired}.
ACQUIRE = """
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind ~= 'none' and kind ~= 'string' then
    redis.call('DEL', KEYS[1])
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return {1, kind ~= 'none' and 1 or 0}
elseif redis.call('PTTL', KEYS[1]) == -1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {0, 1}
end
return {0, 0}
"""

# If ARGV[1] still owns the lock (another worker may hold it after our TTL ran out), push its
# expiry to ARGV[2] ms from now, or with ARGV[2] = 0 delete it.
IF_OWNER = """
if redis.call('TYPE', KEYS[1])['ok'] ~= 'string' or redis.call('GET', KEYS[1]) ~= ARGV[1] then
    return 0
elseif ARGV[2] == '0' then
    return redis.call('DEL', KEYS[1])
end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""

# Store the token ARGV[3..] (field, value, ...) expiring at ARGV[2] in KEYS[1], fenced: only if
# the lock KEYS[2] is still held by ARGV[1], and never over a token that expires later. With
# ARGV[1] empty (a token republished outside a renewal), only where no token is, or over one
# that expires earlier. Returns 1 if stored, 0 if not (the lock was lost, or a token or the
# marker of a cleared one is there), -1 if a token expiring later is stored.
SET_TOKEN = """
local owner, expires = ARGV[1], tonumber(ARGV[2])
local kind = redis.call('TYPE', KEYS[1])['ok']
if owner ~= '' then
    if redis.call('TYPE', KEYS[2])['ok'] ~= 'string' or redis.call('GET', KEYS[2]) ~= owner then
        return 0
    end
end
if kind == 'hash' then
    local stored = tonumber(redis.call('HGET', KEYS[1], 'expires_at_ms'))
    if stored and stored > expires then
        return -1
    elseif owner == '' and not (stored and stored < expires) then
        return 0
    end
end
if kind ~= 'none' then
    redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
return 1
"""

# If KEYS[1] still holds the token that failed, ARGV[1], replace it by a marker (for ARGV[2] ms)
# that no worker republishes it over (a newer token may have replaced it: then nothing is done).
# A key that is not a hash holds no token: deleted. Without ARGV[1], a hash is kept.
CLEAR = """
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind ~= 'hash' then
    return redis.call('DEL', KEYS[1])
elseif not ARGV[1] or redis.call('HGET', KEYS[1], 'access_token') ~= ARGV[1] then
    return 0
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'cleared', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

# GCRA on Redis's clock (microseconds), booking the earliest slot; a schedule that is not a number
# or is past the longest wait restarts from now (SET replaces any type). Returns {wait, repaired}.
GCRA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval, tolerance, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local kind = redis.call('TYPE', KEYS[1])['ok']
local tat, repaired = now, 0
if kind ~= 'none' then
    tat = kind == 'string' and tonumber(redis.call('GET', KEYS[1]))
end
if not (tat and tat - tolerance - now <= max_wait) then
    tat, repaired = now, 1
end
tat = math.max(tat, now)
local ttl_ms = math.ceil((tat + interval - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', tat + interval), 'PX', ttl_ms)
return {math.max(now, tat - tolerance) - now, repaired}
"""

# Spend one request unless ARGV[1] are spent: KEYS[1] counts them, for ARGV[2] ms (0: for good)
# from the window's first request. KEYS[2] names the budget's epoch: 'fresh:…' when first used,
# 'reset:…' after a reset, 'lost:…' once its state was found lost. ARGV[3] is the epoch this
# worker saw last ('' if none); ARGV[4] a new random id. An epoch gone (FLUSHALL, a failover
# that lost it) or replaced by a fresh one while the worker had seen another means lost state:
# the budget is marked spent (for a window, or until reset) under a 'lost:' epoch, which
# becomes a 'reset:' one when that window ends. A count that
# is not a non-negative integer starts again from 0; a window's count without TTL gets one.
# Returns {taken, repaired, epoch, lost}.
SPEND = """
local limit, window_ms, seen, id = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
if redis.call('TYPE', KEYS[2])['ok'] ~= 'string' then
    redis.call('DEL', KEYS[2])
end
local epoch = redis.call('GET', KEYS[2])
if epoch ~= seen then
    local lost = seen ~= '' and (epoch == false or string.sub(epoch, 1, 6) == 'fresh:')
    if lost then
        epoch = 'lost:' .. id
        redis.call('SET', KEYS[2], epoch)
        redis.call('SET', KEYS[1], limit)
        if window_ms ~= '0' then
            redis.call('PEXPIRE', KEYS[1], window_ms)
        end
    elseif epoch == false then
        epoch = 'fresh:' .. id
        redis.call('SET', KEYS[2], epoch)
    end
end
if string.sub(epoch, 1, 5) == 'lost:' and redis.call('EXISTS', KEYS[1]) == 0 then
    epoch = 'reset:' .. id  -- the window that counted as spent has ended
    redis.call('SET', KEYS[2], epoch)
end
local kind = redis.call('TYPE', KEYS[1])['ok']
local used, repaired = 0, 0
if kind ~= 'none' then
    used = kind == 'string' and tonumber(redis.call('GET', KEYS[1]))
end
if not (used and used >= 0 and used % 1 == 0) then
    redis.call('DEL', KEYS[1])
    used, repaired = 0, 1
end
local taken = used < limit
if taken then
    redis.call('INCR', KEYS[1])
end
if window_ms ~= '0' and redis.call('PTTL', KEYS[1]) == -1 then
    redis.call('PEXPIRE', KEYS[1], window_ms)
    repaired = used > 0 and 1 or repaired
end
return {taken and 1 or 0, repaired, epoch, string.sub(epoch, 1, 5) == 'lost:' and 1 or 0}
"""

# Start a budget again: KEYS[1] (the count) deleted, KEYS[2] (the epoch) 'reset:' ARGV[1].
RESET = """
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], 'reset:' .. ARGV[1])
return 1
"""
