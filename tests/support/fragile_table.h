// A PostgreSQL table on which every DDL statement fails (an event trigger refuses it), as a
// permission, a lock timeout or an event trigger of the user's own would: tracking `fragile`
// fails midway. For tests of all-or-nothing tracking.
#pragma once

namespace tandem::testing {

constexpr const char* kRefuseDdlOnFragileSql = R"sql(
CREATE TABLE fragile (id int PRIMARY KEY, v text);
CREATE FUNCTION refuse_fragile() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands()
             WHERE object_identity LIKE '%public.fragile%') THEN
    RAISE EXCEPTION 'no DDL on fragile';
  END IF;
END $$;
CREATE EVENT TRIGGER refuse_fragile ON ddl_command_end EXECUTE FUNCTION refuse_fragile();
)sql";

}  // namespace tandem::testing
