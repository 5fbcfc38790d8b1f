-- Runs once, when the image initialises an empty data directory: the extension in the
-- default database, so that `docker run` gives a ready server.
CREATE EXTENSION IF NOT EXISTS ruvector;
