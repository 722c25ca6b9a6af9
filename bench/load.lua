-- wrk script of the benchmark: one operation per run, named by the first script argument.
--   wrk -s load.lua URL -- OPERATION TOKEN FIRST_ID LAST_ID TAG
-- OPERATION: get (one item by id), list (a page of 50, filtered and sorted), create, update
-- (PATCH), login (a wrong password; its statuses are counted). Ids are drawn from
-- FIRST_ID..LAST_ID; TAG keeps the names this run creates apart from other runs'. At the end
-- it prints one line, "BENCH {json}".

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("number", #threads)
end

function init(args)
  operation = args[1]
  first_id, last_id = tonumber(args[3]), tonumber(args[4])
  prefix = args[5] .. "-" .. number .. "-"
  created = 0
  statuses = {}
  math.randomseed(number * 7919 + os.time())
  if operation == "login" then
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
    wrk.body = "username=bench%40example.com&password=not-the-password"
    response = count_status  -- only here: wrk reads every response body when it is defined
  else
    wrk.headers["Authorization"] = "Bearer " .. args[2]
    wrk.headers["Content-Type"] = "application/json"
  end
end

function request()
  if operation == "get" then
    return wrk.format("GET", "/api/v1/items/" .. math.random(first_id, last_id))
  elseif operation == "list" then
    local offset = 50 * math.random(0, 19)
    return wrk.format("GET", "/api/v1/items?is_active=true&sort=name&limit=50&offset=" .. offset)
  elseif operation == "create" then
    created = created + 1
    local body = '{"name":"' .. prefix .. created .. '","description":"made by wrk",'
      .. '"price":12.5,"quantity":3}'
    return wrk.format("POST", "/api/v1/items", nil, body)
  elseif operation == "update" then
    local body = '{"quantity":' .. math.random(0, 1000) .. '}'
    return wrk.format("PATCH", "/api/v1/items/" .. math.random(first_id, last_id), nil, body)
  else
    return wrk.format("POST", "/api/v1/auth/login")
  end
end

function count_status(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + count
    end
  end
  local listed = {}
  for status, count in pairs(counts) do
    table.insert(listed, string.format('"%d":%d', status, count))
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,'
      .. '"non_2xx":%d,"p50_us":%d,"p99_us":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write,
    errors.timeout, errors.status, latency:percentile(50), latency:percentile(99), table.concat(listed, ",")))
end
