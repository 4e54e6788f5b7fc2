-- ---------------------------------------------------------------------------
-- The codec's level (docs/creating-an-automation.md, compression_level): NULL is the codec's
-- default (gzip 6 for JSON Lines, 4 for Parquet pages; zstd 3).  sql/upgrade/1.0--1.1.sql adds
-- the same column at the same place (the end of the table).
-- ---------------------------------------------------------------------------
ALTER TABLE btexport.automations ADD COLUMN compression_level integer
	CHECK (compression_level BETWEEN 1 AND 19);
COMMENT ON COLUMN btexport.automations.compression_level IS 'gzip (1-9) or zstd (1-19) level; NULL: the codec''s default';
