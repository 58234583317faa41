-- wrk script: like post.lua, but each connection sends one review a second and is idle in
-- between, as the apiserver's pool of keep-alive connections mostly is.
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"

function delay()
  return 1000
end
