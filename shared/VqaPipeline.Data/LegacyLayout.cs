namespace VqaPipeline.Data;

/// <summary>
/// The layout of before the services owned their data: every table of every service in the <c>public</c> schema,
/// written and migrated by all of them. Each service's first migration copies its rows from there into its own schema
/// (provision.sql lets its role read them); the old tables are left in place, so nothing is lost and an operator drops
/// them when the new layout has proven itself (see docs/operations.md).
/// </summary>
public static class LegacyLayout
{
    /// <summary>
    /// SQL that, when <c>public.{legacyTable}</c> exists, runs <paramref name="copy"/> (an <c>INSERT … SELECT</c> from
    /// it into the service's schema); when the table exists but the service's role may not read it, fails with what
    /// to do instead of silently leaving rows behind. In a new database it does nothing.
    /// </summary>
    public static string Import(string legacyTable, string copy) =>
        $$"""
          DO $import$
          BEGIN
              IF to_regclass('public.{{legacyTable}}') IS NOT NULL THEN
                  IF NOT has_table_privilege('public.{{legacyTable}}', 'SELECT') THEN
                      RAISE EXCEPTION 'public.{{legacyTable}} holds data of the layout before each service owned its schema, and % may not read it: run provision.sql (it grants that) and start the service again', current_user;
                  END IF;
                  {{copy.Trim().TrimEnd(';')}};
              END IF;
          END
          $import$;
          """;
}
