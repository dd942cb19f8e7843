-- One page of a directory's keys in byte order, skipping (and dropping) index entries whose
-- record has expired. Every key touched shares the index's hash slot.
-- KEYS[1] directory index, ARGV[1] range start ('[prefix' or '(cursor'), ARGV[2] range end
-- ('(successor' or '+'), ARGV[3] how many keys to return at most, ARGV[4] the record-name prefix
-- of the directory's keys.
local out = {}
local want = tonumber(ARGV[3])
local start = ARGV[1]
while #out < want do
  local batch = redis.call('ZRANGEBYLEX', KEYS[1], start, ARGV[2], 'LIMIT', 0, want - #out)
  if #batch == 0 then break end
  for _, member in ipairs(batch) do
    if redis.call('EXISTS', ARGV[4] .. member) == 1 then
      out[#out + 1] = member
    else
      redis.call('ZREM', KEYS[1], member)
    end
  end
  start = '(' .. batch[#batch]
end
return out
