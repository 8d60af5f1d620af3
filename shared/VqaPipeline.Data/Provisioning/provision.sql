-- Gives every VqaPipeline service its own login role (vqa_<service>) and, in the current database, its own schema
-- (<service>) owned by that role: a service can write its schema and no other. Run it as a role that may create roles
-- (CREATEROLE or superuser) and owns the database, after setting the password new roles get:
--   psql -c "SELECT set_config('vqa.service_password', 'secret', false)" -f provision.sql
-- Idempotent, and safe for several databases of one server at once: roles that exist are left as they are (their
-- password too), schemas that exist are kept. In a database that still has the layout of before the services owned
-- their data (every table in public), each role is also allowed to read the old tables its service imports; the
-- services' first migrations copy those rows into their schemas, and the old tables stay where they were.
DO $provision$
DECLARE
    services constant text[] := ARRAY['ingestion', 'preprocessing', 'inference', 'training', 'indexing', 'gateway'];
    -- The tables of the old layout each service imports (see each service's first migration).
    legacy_reads constant text[][] := ARRAY[
        ['ingestion', 'collections'], ['ingestion', 'images'], ['ingestion', 'labels'],
        ['preprocessing', 'images'],
        ['inference', 'images'], ['inference', 'question_jobs'], ['inference', 'job_images'], ['inference', 'job_answers'],
        ['training', 'training_runs'], ['training', 'model_versions'],
        ['indexing', 'images'], ['indexing', 'indexed_answers'], ['indexing', 'indexed_questions'],
        ['indexing', 'search_jobs'], ['indexing', 'question_jobs'], ['indexing', 'job_images'],
        -- Every service takes the messages it published (its outbox and replay log) and its inbox.
        ['ingestion', 'event_log'], ['preprocessing', 'event_log'], ['inference', 'event_log'], ['training', 'event_log'],
        ['indexing', 'event_log'], ['ingestion', 'inbox_messages'], ['preprocessing', 'inbox_messages'],
        ['inference', 'inbox_messages'], ['training', 'inbox_messages'], ['indexing', 'inbox_messages']];
    service text;
    role_name text;
    password text := nullif(current_setting('vqa.service_password', true), '');
    pair text[];
BEGIN
    FOREACH service IN ARRAY services LOOP
        role_name := 'vqa_' || service;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
            IF password IS NULL THEN
                RAISE EXCEPTION 'role % does not exist yet: set vqa.service_password first (see the top of provision.sql)', role_name;
            END IF;
            BEGIN
                EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', role_name, password);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL; -- another database's provisioning created it a moment ago
            END;
        END IF;
        -- Creating a schema owned by a role takes membership in it.
        IF NOT pg_has_role(current_user, role_name, 'MEMBER') THEN
            EXECUTE format('GRANT %I TO %I', role_name, current_user);
        END IF;
        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', service, role_name);
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', service);
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), role_name);
    END LOOP;
    -- Nobody but the database owner creates objects outside the service schemas (PostgreSQL 15's default, made explicit).
    REVOKE CREATE ON SCHEMA public FROM PUBLIC;

    FOREACH pair SLICE 1 IN ARRAY legacy_reads LOOP
        IF to_regclass('public.' || pair[2]) IS NOT NULL THEN
            EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', 'vqa_' || pair[1]);
            EXECUTE format('GRANT SELECT ON public.%I TO %I', pair[2], 'vqa_' || pair[1]);
        END IF;
    END LOOP;
END
$provision$;
