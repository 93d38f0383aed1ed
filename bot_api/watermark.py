"""Monotonic counters in Redis: raised, never lowered (the recorder's watermark)."""

from __future__ import annotations

RAISE_IF_GREATER_LUA = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
return 0
"""
