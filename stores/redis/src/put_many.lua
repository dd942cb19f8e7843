-- Compare-and-set of a batch of records (one hash slot), in order, stopping at the first whose
-- precondition does not hold: put.lua once per item.
-- Per item i (from 0): KEYS[2i+1] record hash, KEYS[2i+2] its directory index, or the record
-- hash again when it has none; ARGV[7i+1..7i+6] as put.lua's ARGV[1..6], ARGV[7i+7] '1' when
-- the item has a directory index, else '0'.
-- Returns how many items were written: fewer than the batch means the next one conflicted.
local n = #KEYS / 2
for i = 0, n - 1 do
  local record, index = KEYS[2 * i + 1], KEYS[2 * i + 2]
  local a = 7 * i
  local mode, expected, value, version, expires, member, indexed =
    ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6], ARGV[a + 7]
  local current = redis.call('HGET', record, 'ver')
  if mode == 'absent' then
    if current then return i end
  elseif mode == 'version' then
    if current ~= expected then return i end
  end
  redis.call('HSET', record, 'v', value, 'ver', version)
  if expires == '' then
    redis.call('PERSIST', record)
  else
    redis.call('PEXPIREAT', record, expires)
  end
  if indexed == '1' then
    local created = redis.call('EXISTS', index) == 0
    redis.call('ZADD', index, 0, member)
    if expires == '' then
      redis.call('PERSIST', index)
    elseif created then
      redis.call('PEXPIREAT', index, expires)
    else
      redis.call('PEXPIREAT', index, expires, 'GT')
    end
  end
end
return n
