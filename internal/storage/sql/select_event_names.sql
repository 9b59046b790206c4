-- Per event name over a window, for GET /analytics/events: events, errors and
-- the p95 latency of the events left (updates and deletes netted). The p95 is
-- the value at index floor(0.95 * n) of the n latencies sorted, the position
-- of GET /analytics/latency, taken from a histogram instead of an array of n
-- values: the net count of each distinct latency (inner GROUP BY), sorted,
-- and the first latency whose running count passes that index.
-- Parameter: first second of the window.
SELECT name, n, errors, p95 FROM (
    SELECT name,
           toInt64(sum(c)) AS n,
           toInt64(sum(e)) AS errors,
           arraySort(groupArray((latency_ms, c))) AS hist,
           arrayFirst((v, run) -> run > toInt64(floor(0.95 * n)),
                      arrayMap(t -> tupleElement(t, 1), hist),
                      arrayCumSum(arrayMap(t -> tupleElement(t, 2), hist))) AS p95
    FROM (
        SELECT name, latency_ms, sum(sign) AS c, sumIf(sign, is_error = 1) AS e
        FROM {{.Database}}.events
        WHERE event_time >= toDateTime(?)
        GROUP BY name, latency_ms
        HAVING c > 0
    )
    GROUP BY name
)
ORDER BY n DESC, name
