-- wrk script: POST /v1/odds with batches of distinct updates, as a provider would send them.
-- Arguments (after --): batch size, API key, run id, base time in epoch milliseconds.
-- Every update gets its own (game, ts) pair, so every update id is new.

local next_thread = 0

function setup(thread)
  thread:set("thread", next_thread)
  next_thread = next_thread + 1
end

local GAMES = 1000

local function iso(ms)
  local seconds = math.floor(ms / 1000)
  return os.date("!%Y-%m-%dT%H:%M:%S", seconds) .. string.format(".%03dZ", ms % 1000)
end

function init(args)
  batch = tonumber(args[1])
  run = args[3]
  base = tonumber(args[4])
  sent = 0
  headers = { ["Content-Type"] = "application/json", ["X-API-Key"] = args[2] }
end

function request()
  local items = {}
  for i = 1, batch do
    local k = thread * 100000000 + sent
    sent = sent + 1
    items[i] = string.format(
      '{"gameId":"game-bench-%s-%d","market":"spread","ts":"%s","home":-3.5,"away":3.5,"homeOdds":%d,"awayOdds":%d}',
      run, k % GAMES, iso(base + math.floor(k / GAMES)), -110 - k % 40, 100 + k % 40)
  end
  return wrk.format("POST", "/v1/odds", headers, '{"updates":[' .. table.concat(items, ",") .. ']}')
end
