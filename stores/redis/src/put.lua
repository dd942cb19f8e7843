-- Compare-and-set of one record, and its directory's index entry, atomically.
-- KEYS[1] record hash, KEYS[2] directory index (sorted set; absent for keys outside a directory)
-- ARGV[1] 'absent' | 'version' | 'any', ARGV[2] expected version, ARGV[3] value,
-- ARGV[4] new version, ARGV[5] expiry in ms since the epoch or '', ARGV[6] index member (the key)
-- Returns 1 when written, 0 when the precondition did not hold.
local current = redis.call('HGET', KEYS[1], 'ver')
if ARGV[1] == 'absent' then
  if current then return 0 end
elseif ARGV[1] == 'version' then
  if current ~= ARGV[2] then return 0 end
end
redis.call('HSET', KEYS[1], 'v', ARGV[3], 'ver', ARGV[4])
if ARGV[5] == '' then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('PEXPIREAT', KEYS[1], ARGV[5])
end
if KEYS[2] then
  local created = redis.call('EXISTS', KEYS[2]) == 0
  redis.call('ZADD', KEYS[2], 0, ARGV[6])
  -- The index lives as long as its longest-lived member (GT keeps a later expiry; a member
  -- without a hint makes it persistent). Members whose record expired are dropped by list.
  if ARGV[5] == '' then
    redis.call('PERSIST', KEYS[2])
  elseif created then
    redis.call('PEXPIREAT', KEYS[2], ARGV[5])
  else
    redis.call('PEXPIREAT', KEYS[2], ARGV[5], 'GT')
  end
end
return 1
