using System.Text;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace VqaPipeline.Data;

/// <summary>
/// The database of one service: its tables live in a PostgreSQL schema of its own (named like the service), which only
/// that service's role may write, with the migrations history of that schema beside them. Table and column names are
/// snake_case, so hand-written SQL (psql, the bulk upserts) needs no quoting.
/// </summary>
public abstract class ServiceDbContext(DbContextOptions options) : DbContext(options)
{
    /// <summary>The migrations history table, one per schema.</summary>
    public const string MigrationsHistoryTable = "__ef_migrations_history";

    /// <summary>The schema this context's tables live in: the owning service's name.</summary>
    public abstract string Schema { get; }

    /// <summary>
    /// Npgsql options for a context of <paramref name="schema"/> on <paramref name="connectionString"/>: unqualified
    /// names in SQL resolve in the schema (its search path), and its migrations history is kept there.
    /// </summary>
    public static DbContextOptions<TContext> OptionsFor<TContext>(string connectionString, string schema)
        where TContext : ServiceDbContext =>
        Configure(new DbContextOptionsBuilder<TContext>(), connectionString, schema).Options;

    /// <summary>Points <paramref name="builder"/> at <paramref name="schema"/> on <paramref name="connectionString"/>.</summary>
    public static DbContextOptionsBuilder<TContext> Configure<TContext>(
        DbContextOptionsBuilder<TContext> builder, string connectionString, string schema) where TContext : ServiceDbContext
    {
        builder.UseNpgsql(WithSearchPath(connectionString, schema),
            npgsql => npgsql.MigrationsHistoryTable(MigrationsHistoryTable, schema));
        return builder;
    }

    /// <summary><paramref name="connectionString"/> with the search path set to <paramref name="schema"/> alone.</summary>
    public static string WithSearchPath(string connectionString, string schema) =>
        new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = schema }.ConnectionString;

    /// <summary>The service's tables, keys and indexes; names are made snake_case afterwards.</summary>
    protected abstract void ConfigureModel(ModelBuilder modelBuilder);

    /// <inheritdoc />
    protected sealed override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema(Schema);
        ConfigureModel(modelBuilder);
        UseSnakeCaseNames(modelBuilder);
    }

    private static void UseSnakeCaseNames(ModelBuilder modelBuilder)
    {
        foreach (var entity in modelBuilder.Model.GetEntityTypes())
        {
            entity.SetTableName(SnakeCase(entity.GetTableName()!));
            foreach (var property in entity.GetProperties())
                property.SetColumnName(SnakeCase(property.GetColumnName()));
            foreach (var key in entity.GetKeys())
                key.SetName(SnakeCase(key.GetName()!));
            foreach (var foreignKey in entity.GetForeignKeys())
                foreignKey.SetConstraintName(SnakeCase(foreignKey.GetConstraintName()!));
            foreach (var index in entity.GetIndexes())
                index.SetDatabaseName(SnakeCase(index.GetDatabaseName()!));
        }
    }

    private static string SnakeCase(string name)
    {
        var builder = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c) && i > 0 && name[i - 1] != '_' && !char.IsUpper(name[i - 1]))
                builder.Append('_');
            builder.Append(char.ToLowerInvariant(c));
        }
        return builder.ToString();
    }
}

/// <summary>Enum columns stored as lower-case text (<c>ready</c>, <c>running</c>), readable in psql and raw SQL.</summary>
public static class LowerCaseEnum
{
    /// <summary>The converter for <typeparamref name="TEnum"/>.</summary>
    public static Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter<TEnum, string> Converter<TEnum>()
        where TEnum : struct, Enum =>
        new(value => value.ToString().ToLowerInvariant(), text => Enum.Parse<TEnum>(text, true));

    /// <summary>Lower-case text of <paramref name="value"/>, as the column holds it.</summary>
    public static string Text<TEnum>(TEnum value) where TEnum : struct, Enum => value.ToString().ToLowerInvariant();
}
