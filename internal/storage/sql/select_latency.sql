-- p95 per (event_name, conversation_id) over the net multiset of latencies:
-- the inner query nets +1/-1 rows per value, so superseded and deleted states
-- drop out exactly. Parameters: event_name filter (empty means all) x2, first
-- second of the window (0 means all), limit.
SELECT name, conversation, quantileExactWeighted(0.95)(latency_ms, weight) AS p95, sum(weight) AS n
FROM
(
    SELECT name, conversation, latency_ms, toUInt64(sum(sign)) AS weight
    FROM {{.Database}}.events
    WHERE (? = '' OR name = ?) AND event_time >= toDateTime(?)
    GROUP BY name, conversation, latency_ms
    HAVING sum(sign) > 0
)
GROUP BY name, conversation
ORDER BY p95 DESC, name, conversation
LIMIT ?
