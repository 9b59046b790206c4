-- p50 and p95 latency and the error rate of the LLM calls per model, over
-- the net multiset of latencies (updates and deletes netted, no FINAL): the
-- netting of select_latency.sql (linear in the size of the group: hashing,
-- no per-row scan of the group's array), then one sort of the kept values
-- for both quantiles, each the value at index floor(level * n) (quantileExact's
-- position). Parameters: first second of the window (0 means all) x2, limit.
SELECT gen_model, p50, p95, toUInt64(n), errors FROM (
    SELECT gen_model,
           groupArray(if(sign > 0, if(latency_ms = 0, 0, latency_ms), if(latency_ms = 0, -inf, -latency_ms))) AS a,
           arrayCount(x -> x < 0, a) AS m,
           toInt64(length(a)) - 2 * toInt64(m) AS n,
           arrayConcat(arrayFilter(x -> x < 0, a), arrayFilter(x -> x >= 0, a)) AS qp,
           arrayMap(x -> if(x = -inf, 0, abs(x)), qp) AS v,
           arraySort(arrayFilter((x, o, op) -> x >= 0 AND 2 * op > o, qp, arrayEnumerateUniq(v), arrayEnumerateUniq(qp))) AS kept,
           kept[toUInt64(floor(0.5 * n)) + 1] AS p50,
           kept[toUInt64(floor(0.95 * n)) + 1] AS p95,
           sum(sign * toInt64(is_error)) AS errors
    FROM {{.Database}}.events
    WHERE gen_model != '' AND (? = 0 OR event_time >= toDateTime(?))
    GROUP BY gen_model
    HAVING n > 0
)
ORDER BY gen_model
LIMIT ?
