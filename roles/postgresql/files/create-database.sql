-- Create the database named by the psql variable `dbname` when it does not exist.
-- Idempotent: a second run finds the database and executes nothing.
-- Run with: psql -v ON_ERROR_STOP=1 -v dbname=<database> -f create-database.sql
\if :{?dbname}
\else
DO $$ BEGIN RAISE EXCEPTION 'the psql variable dbname is not set: run psql with -v dbname=<database>'; END $$;
\endif

SELECT format('CREATE DATABASE %I', :'dbname')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'dbname')\gexec
