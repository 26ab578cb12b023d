-- wrk script for bench/token_exchange.py: POST /oidc/token, one authorization code each.
-- Arguments: CODES_FILE BASIC_AUTHORIZATION REDIRECT_URI CODE_VERIFIER (one code per line).
-- Run with one wrk thread.  Once the codes run out, requests carry none and are refused;
-- the Python side counts the grants in the database, so only real exchanges count.

local function form_escape(value)
  return (value:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  codes = {}
  for line in io.lines(args[1]) do codes[#codes + 1] = line end
  headers = {
    ["Authorization"] = args[2],
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
  tail = "&redirect_uri=" .. form_escape(args[3]) .. "&code_verifier=" .. form_escape(args[4])
  sent = 0
end

function request()
  sent = sent + 1
  local body = "grant_type=authorization_code&code=" .. form_escape(codes[sent] or "none") .. tail
  return wrk.format("POST", "/oidc/token", headers, body)
end
