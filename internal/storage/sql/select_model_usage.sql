-- Tokens and cost of the LLM calls per (model, UTC day), netted by sign
-- (updates and deletes cancel their rows; no FINAL). The cost is summed in
-- whole nano-dollars so that a -1 row cancels its +1 row exactly, whatever
-- the order of the sum. Parameters: model filter (empty means all) x2, first
-- second of the window.
SELECT gen_model,
       toInt64(toDate(event_time)) AS day_number,
       sum(sign) AS calls,
       sum(sign * toInt64(gen_input_tokens)) AS input_tokens,
       sum(sign * toInt64(gen_output_tokens)) AS output_tokens,
       sum(sign * toInt64(gen_cache_read_tokens)) AS cache_read_tokens,
       sum(sign * toInt64(gen_cache_creation_tokens)) AS cache_creation_tokens,
       sum(sign * toInt64(gen_reasoning_tokens)) AS reasoning_tokens,
       sum(sign * toInt64(round(gen_cost * 1000000000))) AS cost_nano
FROM {{.Database}}.events
WHERE gen_model != '' AND (? = '' OR gen_model = ?) AND event_time >= toDateTime(?)
GROUP BY gen_model, day_number
HAVING calls != 0
ORDER BY day_number, gen_model
