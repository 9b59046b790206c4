-- Conversations ranked by the total cost of their LLM calls, netted by sign
-- in whole nano-dollars (exact under updates and deletes, no FINAL).
-- Parameter: limit.
SELECT conversation,
       sum(sign * toInt64(round(gen_cost * 1000000000))) AS cost_nano,
       sumIf(sign, gen_model != '') AS calls,
       sum(sign * toInt64(gen_input_tokens)) AS input_tokens,
       sum(sign * toInt64(gen_output_tokens)) AS output_tokens
FROM {{.Database}}.events
GROUP BY conversation
HAVING cost_nano > 0
ORDER BY cost_nano DESC, conversation
LIMIT ?
