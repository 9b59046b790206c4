-- The analytics rows of some ids, netted by sign: an id whose rows match its
-- state has one row of net +1 (the state's, when visible) and nothing else.
-- The ids are the external table _ids.
SELECT id, conversation, name, event_time_ms, latency_ms, is_error,
       gen_model, gen_input_tokens, gen_output_tokens, gen_cache_read_tokens, gen_cache_creation_tokens,
       gen_reasoning_tokens, gen_cost, toInt64(sum(sign)) AS n
FROM {{.Database}}.events
WHERE id IN _ids
GROUP BY id, conversation, name, event_time_ms, latency_ms, is_error,
         gen_model, gen_input_tokens, gen_output_tokens, gen_cache_read_tokens, gen_cache_creation_tokens,
         gen_reasoning_tokens, gen_cost
HAVING n != 0
