-- wrk script for bench/mesh_exchange.py: each connection waits DELAY_MS between requests,
-- so that C connections send about C * 1000 / DELAY_MS requests per second.
-- Argument: DELAY_MS.

function init(args)
  pause = tonumber(args[1])
end

function delay()
  return pause
end
