-- Fixed dataset for the BTQL differential tests.  Times are either absolute
-- (2024) or relative to the load time (now() - ...); the tests run right
-- after loading, so "created > now() - interval 7 day" is stable.
-- Loaded by load.sql into the installed extension's span store: spans go to
-- the staging table logs_in first (it states is_root, which the span store
-- generates, so load.sql can check that the two agree).
SET TIME ZONE 'UTC';
INSERT INTO btexport.projects (id, name, org_id, created) VALUES
('0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04', 'support-bot', 'aaaaaaaa-0000-4000-8000-000000000001', '2024-01-01T00:00:00Z'),
('5d1e7c3a-2b4f-4e8a-9c6d-0f1e2d3c4b5a', 'other-project', 'aaaaaaaa-0000-4000-8000-000000000001', '2024-01-01T00:00:00Z'),
('9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d', 'empty-project', NULL, '2024-01-01T00:00:00Z');

-- P = support-bot
INSERT INTO logs_in (project_id, id, span_id, root_span_id, span_parents, is_root, created, org_id,
	input, output, expected, error, scores, metrics, metadata, span_attributes, context, origin, comment, tags, _xact_id)
VALUES
-- trace t1: recent production trace, escalated, a failing tool call
('0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04', 'r1', 'r1', 'r1', NULL, true, now() - interval '1 hour', 'aaaaaaaa-0000-4000-8000-000000000001',
 '"How do I get a refund for my invoice?"', '"You can request a refund from the billing page."', NULL, NULL,
 '{"Factuality": 0.9, "Helpfulness": 0.8}', '{"start": 1000, "end": 1010}',
 '{"environment": "production", "model": "gpt-4o", "customer_tier": "enterprise", "route": "/v2/chat", "user_id": "u1"}',
 '{"name": "support", "type": "task"}', '{"caller_filename": "app.py"}', NULL, NULL, '{escalated,refund}', '100'),
('0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04', 's1a', 's1a', 'r1', '{r1}', false, now() - interval '59 minutes', 'aaaaaaaa-0000-4000-8000-000000000001',
 '{"messages": [{"role": "user", "content": "refund invoice"}]}', '{"choices": [{"message": "Refund steps"}, {"message": "Final answer"}]}', NULL, NULL,
 '{"Groundedness": 0.7}', '{"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500, "estimated_cost": 0.02, "start": 1001, "end": 1005, "latency": 4.0}',
 '{"environment": "production", "model": "gpt-4o", "tool_calls": [{"name": "lookup_invoice"}, {"name": "refund"}]}',
 '{"name": "chat", "type": "llm"}', NULL, NULL, NULL, '{llm}', '101'),
('0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04', 's1b', 's1b', 'r1', '{r1}', false, now() - interval '58 minutes', 'aaaaaaaa-0000-4000-8000-000000000001',
 '{"invoice": "INV-1"}', NULL, NULL, '{"message": "timeout", "type": "tool"}',
 NULL, '{"start": 1005, "end": 1009, "latency": 4.5}',
 '{"environment": "production"}', '{"name": "lookup_invoice", "type": "tool"}', NULL, NULL, NULL, NULL, '102'),
('0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04', 's1c', 's1c', 'r1', '{r1}', false, now() - interval '57 minutes', 'aaaaaaaa-0000-4000-8000-000000000001',
 NULL, '{"score": 0.5}', NULL, NULL,
 '{"Groundedness": 0.5}', '{"start": 1009, "end": 1010}',
 '{"environment": "production"}', '{"name": "Groundedness", "type": "score", "purpose": "scorer"}', NULL, NULL, NULL, NULL, '103'),
-- trace t2: staging, three days old, LLM error
('0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04', 'r2', 'r2', 'r2', '{}', true, now() - interval '3 days', 'aaaaaaaa-0000-4000-8000-000000000001',
 '"Chargeback dispute for order 77"', '"We opened a dispute."', '"Dispute opened"', NULL,
 '{"Factuality": 0.6, "Helpfulness": 0.3}', '{"start": 2000, "end": 2030}',
 '{"environment": "staging", "model": "gpt-4o-mini", "customer_tier": "free", "route": "v2_chat", "promo_text": "20% off today"}',
 '{"name": "support", "type": "task"}', NULL, NULL, NULL, '{resolved}', '104'),
('0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04', 's2a', 's2a', 'r2', '{r2}', false, now() - interval '3 days' + interval '1 second', 'aaaaaaaa-0000-4000-8000-000000000001',
 '"chargeback"', NULL, NULL, '{"message": "rate limited", "type": "llm"}',
 '{"Helpfulness": 0.2}', '{"prompt_tokens": 800, "completion_tokens": 0, "total_tokens": 800, "estimated_cost": 0.01, "start": 2001, "end": 2010}',
 '{"environment": "staging", "model": "gpt-4o-mini"}', '{"name": "chat", "type": "llm"}', NULL, NULL, NULL, '{llm,retry}', '105'),
('0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04', 's2b', 's2b', 'r2', '{r2}', false, now() - interval '3 days' + interval '2 seconds', 'aaaaaaaa-0000-4000-8000-000000000001',
 '"chargeback"', '"Dispute text"', NULL, NULL,
 '{"Groundedness": 0.6}', '{"prompt_tokens": 900, "completion_tokens": 450, "total_tokens": 1350, "estimated_cost": 0.015, "start": 2011, "end": 2025}',
 '{"environment": "staging", "model": "gpt-4o-mini"}', '{"name": "chat", "type": "llm"}', NULL, NULL, NULL, '{llm}', '130'),
-- trace t3: January 2024, production
('0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04', 'r3', 'r3', 'r3', NULL, true, '2024-01-10T08:00:00Z', 'aaaaaaaa-0000-4000-8000-000000000001',
 '"What is the capital of France?"', '"Paris"', '"Paris"', NULL,
 '{"Factuality": 0.7, "Helpfulness": 0.95}', '{"prompt_tokens": 1500, "completion_tokens": 500, "total_tokens": 2000, "estimated_cost": 0.03, "start": 500, "end": 512}',
 '{"environment": "production", "model": "gpt-4o", "customer_tier": "pro", "route": "/v1/ask"}',
 '{"name": "ask", "type": "llm"}', NULL, NULL, NULL, '{geo}', '106'),
('0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04', 's3a', 's3a', 'r3', '{r3}', false, '2024-01-10T08:00:05Z', 'aaaaaaaa-0000-4000-8000-000000000001',
 NULL, '{"score": 1}', NULL, NULL,
 '{"Groundedness": 0.9}', '{"start": 505, "end": 506}',
 '{"environment": "production"}', '{"name": "Groundedness", "type": "score"}', NULL, NULL, NULL, '{}', '107'),
-- trace t4: ten days old, root span missing (only children)
('0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04', 's4a', 's4a', 'r4', '{r4}', false, now() - interval '10 days', 'aaaaaaaa-0000-4000-8000-000000000001',
 '"orphan input"', '"orphan output"', NULL, NULL,
 '{"Factuality": 0.4}', '{"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150, "cost": 0.002, "start": 3000, "end": 3004}',
 '{"environment": "production", "model": "claude-3", "route": "/v2/chat"}', '{"name": "chat", "type": "llm"}', NULL, NULL, NULL, '{orphan}', '108'),
('0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04', 's4b', 's4b', 'r4', '{s4a}', false, now() - interval '10 days' + interval '1 minute', 'aaaaaaaa-0000-4000-8000-000000000001',
 NULL, NULL, NULL, 'null',
 NULL, '{"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30, "cost": 0.001, "start": 3001, "end": 3006}',
 '{"environment": "production", "model": "claude-3"}', '{"name": "search", "type": "tool"}', NULL, NULL, NULL, NULL, '109'),
-- trace t5: five minutes old, odd keys, nested arrays, JSON strings, nulls
('0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04', 'r5', 'r5', 'r5', NULL, true, now() - interval '5 minutes', 'aaaaaaaa-0000-4000-8000-000000000001',
 '{"question": "Where is my invoice?", "lang": "en"}', '{"answer": "In your email", "refs": ["doc1", "doc2"]}', NULL, NULL,
 '{"Answer Relevance": 0.85, "Factuality": 1, "Helpfulness": null}', '{"start": 4000, "end": 4003, "total_tokens": 5000}',
 '{"environment": "production", "model": null, "customer-tier": "enterprise", "build.sha": "abc123", "raw_headers": "{\"x-request-id\": \"req-9\", \"a.b\": 5}", "count": "5", "flag": true, "tool_calls": [{"name": "search"}], "nested": {"deep": {"value": 42}}}',
 '{"name": "support", "type": "task"}', NULL, '{"object_type": "project_logs"}', '{"text": "looks good"}', '{vip,escalated}', '110'),
('0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04', 's5a', 's5a', 'r5', '{r5}', false, now() - interval '4 minutes', 'aaaaaaaa-0000-4000-8000-000000000001',
 '"Where is my invoice"', '"Check email"', NULL, NULL,
 '{"Answer Relevance": 0.65, "Factuality": 0.5}', '{"prompt_tokens": 4000, "completion_tokens": 1000, "total_tokens": 5000, "estimated_cost": 0.05, "start": 4001, "end": 4002, "latency": 1.0}',
 '{"environment": "production", "model": "gpt-4o", "raw_headers": "not json", "count": 7, "flag": false}', '{"name": "chat", "type": "llm"}', NULL, NULL, NULL, '{llm}', '111'),
-- trace t6: February 2024, metrics with cost only, numbers as strings
('0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04', 'r6', 'r6', 'r6', NULL, true, '2024-02-01T12:30:00Z', 'aaaaaaaa-0000-4000-8000-000000000001',
 '"hello"', '"world"', NULL, NULL,
 '{"Factuality": 0.2}', '{"prompt_tokens": 10, "completion_tokens": 5, "cost": 0.0005, "start": 600, "end": 601}',
 '{"environment": "development", "model": "gpt-4o-mini", "customer_tier": "free", "route": "/v2/chat", "count": "12"}',
 '{"name": "greet", "type": "llm"}', NULL, NULL, NULL, '{test,geo}', '112');

-- the other project: must never leak into queries of support-bot
INSERT INTO logs_in (project_id, id, span_id, root_span_id, span_parents, is_root, created, org_id,
	input, output, scores, metrics, metadata, span_attributes, tags, _xact_id)
VALUES
('5d1e7c3a-2b4f-4e8a-9c6d-0f1e2d3c4b5a', 'r1', 'r1', 'r1', NULL, true, now() - interval '2 hours', NULL,
 '"other refund"', '"other"', '{"Factuality": 0.1}', '{"total_tokens": 9999, "prompt_tokens": 9000, "completion_tokens": 999}',
 '{"environment": "production", "model": "gpt-4o"}', '{"name": "x", "type": "llm"}', '{escalated}', '120'),
('5d1e7c3a-2b4f-4e8a-9c6d-0f1e2d3c4b5a', 'o2', 'o2', 'r1', '{r1}', false, now() - interval '119 minutes', NULL,
 NULL, NULL, '{"Factuality": 0.3}', NULL,
 '{"environment": "production"}', '{"name": "y", "type": "tool"}', NULL, '121');
