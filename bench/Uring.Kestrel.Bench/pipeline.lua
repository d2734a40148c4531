-- wrk script: every request is `depth` (default 16) GETs of the same path in one write (HTTP/1.1
-- pipelining); wrk counts each response. Usage: wrk -s pipeline.lua URL -- 16
local depth = 16
local batch

init = function(args)
  depth = tonumber(args[1]) or depth
  local one = wrk.format(nil, nil)
  batch = string.rep(one, depth)
end

request = function()
  return batch
end
