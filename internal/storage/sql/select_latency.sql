-- p95 per (event_name, conversation_id) over the net multiset of latencies
-- (updates and deletes netted, no FINAL): the value at index floor(0.95 * n)
-- of the n latencies left, sorted (quantileExact's position). One GROUP BY
-- whose state is a plain array a, the -1 rows stored negated (-inf for a -1
-- row of latency 0; latencies are finite and >= 0, and -0 is stored as 0,
-- so the two kinds never mix and every value has one bit pattern).
-- Netting, in time and memory linear in the size of the group: the m -1
-- entries first (qp), then for each +1 entry its occurrence number among
-- the entries of its latency (o, over v, the latencies without sign) and
-- among the +1 entries of its latency (op, over qp itself), both counted by
-- hashing (arrayEnumerateUniq). The q -1 entries of a latency come first, so
-- o = q + op, and the entry is kept when op > q, that is 2 * op > o: every
-- -1 row cancels one +1 row of the same latency (it is a copy of one), so
-- what is kept is the net multiset. Only the n kept values are sorted.
-- Parameters: event_name filter (empty means all) x2, first second of the
-- window (0 means all) x2, limit.
SELECT name, conversation, p95, toUInt64(n) FROM (
    SELECT name, conversation,
           groupArray(if(sign > 0, if(latency_ms = 0, 0, latency_ms), if(latency_ms = 0, -inf, -latency_ms))) AS a,
           arrayCount(x -> x < 0, a) AS m,
           toInt64(length(a)) - 2 * toInt64(m) AS n,
           arrayConcat(arrayFilter(x -> x < 0, a), arrayFilter(x -> x >= 0, a)) AS qp,
           arrayMap(x -> if(x = -inf, 0, abs(x)), qp) AS v,
           arraySort(arrayFilter((x, o, op) -> x >= 0 AND 2 * op > o, qp, arrayEnumerateUniq(v), arrayEnumerateUniq(qp)))[toUInt64(floor(0.95 * n)) + 1] AS p95
    FROM {{.Database}}.events
    WHERE (? = '' OR name = ?) AND (? = 0 OR event_time >= toDateTime(?))
    GROUP BY name, conversation
    HAVING n > 0
)
ORDER BY p95 DESC, name, conversation
LIMIT ?
