-- Removes one record and its directory's index entry, atomically.
-- KEYS[1] record hash, KEYS[2] directory index (absent for keys outside a directory)
-- ARGV[1] index member (the key)
redis.call('DEL', KEYS[1])
if KEYS[2] then
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
