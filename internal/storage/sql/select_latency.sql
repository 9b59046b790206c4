-- p95 per (event_name, conversation_id) over the net multiset of latencies:
-- the inner query nets +1/-1 rows per value, so superseded and deleted states
-- drop out exactly. Parameters: event_name filter (empty means all) x2, first second
-- of the window (0 means all), limit.
SELECT event_name, conversation_id, quantileExactWeighted(0.95)(latency, weight) AS p95, sum(weight) AS n
FROM
(
    SELECT event_name, conversation_id, latency, toUInt64(sum(sign)) AS weight
    FROM {{.Database}}.events
    WHERE (? = '' OR event_name = ?) AND timestamp >= toDateTime(?)
    GROUP BY event_name, conversation_id, latency
    HAVING sum(sign) > 0
)
GROUP BY event_name, conversation_id
ORDER BY p95 DESC, event_name, conversation_id
LIMIT ?
