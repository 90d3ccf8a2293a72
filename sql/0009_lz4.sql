-- Big JSON values (an op and its inverse, a checkpoint's document) are TOASTed with lz4 where
-- the server is built with it: it compresses several times faster than pglz, the default,
-- which made most of the time of writing a restore's op (a component for every widget) and a
-- checkpoint. Values already stored stay as they are; partitions created later take the
-- parent's setting. A server without lz4 keeps pglz: everything works the same, slower.
DO $$
DECLARE
    part regclass;
BEGIN
    ALTER TABLE operations
        ALTER COLUMN operation SET COMPRESSION lz4, ALTER COLUMN inverse SET COMPRESSION lz4;
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'operations'::regclass
    LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN operation SET COMPRESSION lz4,'
                       ' ALTER COLUMN inverse SET COMPRESSION lz4', part);
    END LOOP;
    ALTER TABLE checkpoints ALTER COLUMN document SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: big values stay compressed with pglz';
END $$;
