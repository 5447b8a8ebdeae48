-- bench/submit.lua: wrk script posting {"command":"true"} jobs.
-- The key comes from the environment (JOBCELL_KEY).
wrk.method = "POST"
wrk.body = '{"command":"true"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("JOBCELL_KEY")

done = function(summary, latency, requests)
	local codes = 0
	if summary.errors.status then codes = summary.errors.status end
	io.write(string.format("RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f non2xx=%d\n",
		summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(99) / 1000,
		codes))
end
