using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace VqaPipeline.Data;

/// <summary>The pipeline's PostgreSQL database: collections, images, the event log and the consumer inbox.</summary>
public sealed class VqaDbContext(DbContextOptions<VqaDbContext> options) : DbContext(options)
{
    /// <summary>Image collections.</summary>
    public DbSet<Collection> Collections => Set<Collection>();

    /// <summary>Images of all collections.</summary>
    public DbSet<Image> Images => Set<Image>();

    /// <summary>Messages published or consumed.</summary>
    public DbSet<EventLogEntry> EventLog => Set<EventLogEntry>();

    /// <summary>Messages consumers have handled.</summary>
    public DbSet<InboxMessage> InboxMessages => Set<InboxMessage>();

    /// <summary>The retrieval index: ranked answers per image, normalized question and model version.</summary>
    public DbSet<IndexedAnswer> IndexedAnswers => Set<IndexedAnswer>();

    /// <summary>Questions answered per collection and model version.</summary>
    public DbSet<IndexedQuestion> IndexedQuestions => Set<IndexedQuestion>();

    /// <summary>Question jobs started by searches.</summary>
    public DbSet<SearchJob> SearchJobs => Set<SearchJob>();
    /// <summary>Human answers to questions about images.</summary>
    public DbSet<ImageLabel> Labels => Set<ImageLabel>();

    /// <summary>Requests to train a model.</summary>
    public DbSet<TrainingRun> TrainingRuns => Set<TrainingRun>();

    /// <summary>Trained models stored in object storage.</summary>
    public DbSet<ModelVersion> ModelVersions => Set<ModelVersion>();
    /// <summary>Question jobs.</summary>
    public DbSet<QuestionJob> QuestionJobs => Set<QuestionJob>();

    /// <summary>Each image's state within each job.</summary>
    public DbSet<JobImage> JobImages => Set<JobImage>();

    /// <summary>Stored answers of every job.</summary>
    public DbSet<JobAnswer> JobAnswers => Set<JobAnswer>();

    /// <summary>Options for a context on <paramref name="connectionString"/> (an Npgsql connection string).</summary>
    public static DbContextOptions<VqaDbContext> OptionsFor(string connectionString) =>
        new DbContextOptionsBuilder<VqaDbContext>().UseNpgsql(connectionString).Options;

    /// <summary>
    /// Adds <paramref name="message"/> to the outbox: a published event log entry, not yet dispatched, that commits
    /// with this context's next <c>SaveChanges</c> (and its transaction, if one is open). The outbox dispatcher then
    /// publishes it with the returned message id, so a message is sent if and only if the changes it announces commit.
    /// The message's runtime type names it; its short name must be a contract type the dispatcher knows. With
    /// <paramref name="destinationQueue"/> the message is a command, sent to that queue alone instead of published.
    /// </summary>
    /// <returns>The bus message id the message will be published with.</returns>
    public Guid AddOutgoing<TMessage>(TMessage message, Guid? collectionId = null, Guid? imageId = null, Guid? jobId = null,
        string? destinationQueue = null)
        where TMessage : notnull
    {
        var type = message.GetType();
        var entry = new EventLogEntry
        {
            MessageId = Guid.CreateVersion7(),
            MessageType = type.Name,
            Body = JsonSerializer.Serialize(message, type, JsonSerializerOptions.Web),
            CollectionId = collectionId,
            ImageId = imageId,
            JobId = jobId,
            OccurredAt = DateTimeOffset.UtcNow,
            Direction = MessageDirection.Published,
            Destination = destinationQueue,
        };
        EventLog.Add(entry);
        return entry.MessageId;
    }

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Collection>(collection =>
        {
            collection.Property(c => c.Name).HasMaxLength(200);
            collection.HasIndex(c => c.Name).IsUnique();
        });

        modelBuilder.Entity<Image>(image =>
        {
            image.Property(i => i.Sha256).HasMaxLength(64).IsFixedLength();
            image.Property(i => i.ObjectKey).HasMaxLength(1024);
            image.Property(i => i.PreprocessedObjectKey).HasMaxLength(1024);
            image.Property(i => i.FileName).HasMaxLength(1024);
            image.Property(i => i.ContentType).HasMaxLength(255);
            image.Property(i => i.Format).HasMaxLength(32);
            image.Property(i => i.Status)
                .HasMaxLength(16)
                .HasConversion(status => status.ToString().ToLowerInvariant(),
                               text => Enum.Parse<ImageStatus>(text, ignoreCase: true));
            image.HasIndex(i => new { i.CollectionId, i.Sha256 }).IsUnique();
            image.HasOne(i => i.Collection).WithMany(c => c.Images).HasForeignKey(i => i.CollectionId);
        });

        modelBuilder.Entity<EventLogEntry>(entry =>
        {
            entry.ToTable("event_log");
            entry.Property(e => e.MessageType).HasMaxLength(255);
            entry.Property(e => e.Body).HasColumnType("jsonb");
            entry.HasIndex(e => new { e.MessageType, e.OccurredAt });
            entry.HasIndex(e => e.MessageId);
            entry.Property(e => e.Destination).HasMaxLength(255);
            entry.Property(e => e.Direction)
                .HasMaxLength(16)
                .HasConversion(direction => direction.ToString().ToLowerInvariant(),
                               text => Enum.Parse<MessageDirection>(text, ignoreCase: true));
            // The outbox: what the dispatcher scans, kept small by the filter however long the log grows.
            entry.HasIndex(e => e.Id)
                .HasDatabaseName("ix_event_log_outbox")
                .HasFilter("direction = 'published' AND dispatched_at IS NULL");
        });

        modelBuilder.Entity<InboxMessage>(inbox =>
        {
            inbox.Property(m => m.Consumer).HasMaxLength(255);
            inbox.HasKey(m => new { m.Consumer, m.MessageId });
        });

        IndexModel.ConfigureIndex(modelBuilder);
        modelBuilder.ConfigureTraining();

        JobModel.ConfigureJobs(modelBuilder);
        UseSnakeCaseNames(modelBuilder);
    }

    /// <summary>
    /// PostgreSQL folds unquoted names to lower case; snake_case tables and columns keep hand-written SQL (psql, the
    /// inbox's ON CONFLICT insert) free of quoting.
    /// </summary>
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

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without a running database.</summary>
public sealed class VqaDbContextDesignTimeFactory : IDesignTimeDbContextFactory<VqaDbContext>
{
    /// <inheritdoc />
    public VqaDbContext CreateDbContext(string[] args) =>
        new(VqaDbContext.OptionsFor("Host=localhost;Database=vqapipeline_design"));
}
