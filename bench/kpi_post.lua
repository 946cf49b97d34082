-- kpi_post.lua - wrk: one KPI event per request to POST /v1/kpi (bench/ingest.sh).
-- The token comes from $SWITCHYARD_TOKEN.
wrk.method = "POST"
wrk.body = '{"domain":"BENCH","metric":"ok","actor":"bench","success":true}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("SWITCHYARD_TOKEN")
