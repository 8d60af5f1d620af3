using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Messaging;

namespace VqaPipeline.Indexing.Data;

/// <summary>The indexing service's schema: the retrieval index, the questions asked, and the jobs searches started.</summary>
public sealed class IndexingDbContext(DbContextOptions<IndexingDbContext> options) : MessagingDbContext(options)
{
    public override string Schema => Services.Indexing;

    /// <summary>The retrieval index: ranked answers per image, normalized question and model version.</summary>
    public DbSet<IndexedAnswer> IndexedAnswers => Set<IndexedAnswer>();

    /// <summary>Questions answered per collection and model version.</summary>
    public DbSet<IndexedQuestion> IndexedQuestions => Set<IndexedQuestion>();

    /// <summary>Question jobs started by searches.</summary>
    public DbSet<SearchJob> SearchJobs => Set<SearchJob>();

    /// <summary>Question jobs that ended.</summary>
    public DbSet<EndedJob> EndedJobs => Set<EndedJob>();

    /// <summary>A context on <paramref name="connectionString"/>.</summary>
    public static IndexingDbContext Open(string connectionString) =>
        new(OptionsFor<IndexingDbContext>(connectionString, Services.Indexing));

    protected override void ConfigureTables(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<IndexedAnswer>(answer =>
        {
            answer.ToTable("indexed_answers");
            answer.Property(a => a.Question).HasMaxLength(1000);
            answer.Property(a => a.QuestionAsked).HasMaxLength(1000);
            answer.Property(a => a.Answer).HasMaxLength(255);
            answer.Property(a => a.NormalizedAnswer).HasMaxLength(255);
            answer.Property(a => a.ModelVersion).HasMaxLength(500);
            answer.Property(a => a.FileName).HasMaxLength(1024);
            answer.Property(a => a.ObjectKey).HasMaxLength(1024);
            answer.HasIndex(a => new { a.ImageId, a.Question, a.ModelVersion, a.Rank }).IsUnique();
            // The search: equality on question, answer, collection and model version, then the best scores first.
            answer.HasIndex(a => new { a.Question, a.NormalizedAnswer, a.CollectionId, a.ModelVersion, a.Score })
                .IsDescending(false, false, false, false, true)
                .HasDatabaseName("ix_indexed_answers_search");
        });

        modelBuilder.Entity<IndexedQuestion>(question =>
        {
            question.ToTable("indexed_questions");
            question.Property(q => q.Question).HasMaxLength(1000);
            question.Property(q => q.QuestionAsked).HasMaxLength(1000);
            question.Property(q => q.ModelVersion).HasMaxLength(500);
            question.HasKey(q => new { q.CollectionId, q.Question, q.ModelVersion });
        });

        modelBuilder.Entity<SearchJob>(job =>
        {
            job.ToTable("search_jobs");
            job.Property(j => j.Question).HasMaxLength(1000);
            job.Property(j => j.Model).HasMaxLength(500);
            job.Property(j => j.StatusUrl).HasMaxLength(2000);
            job.HasKey(j => new { j.CollectionId, j.Question, j.Model });
        });

        modelBuilder.Entity<EndedJob>(job =>
        {
            job.ToTable("ended_jobs");
            job.HasKey(j => j.JobId);
            job.Property(j => j.Status).HasMaxLength(16);
            job.Property(j => j.ModelVersion).HasMaxLength(1024);
        });

        // A search waiting on a job counts that job's parked answers (RetrievalSearch): without this the count scans
        // every AnswersProduced ever consumed, one per image answered. Parked rows are few, so the index stays small.
        modelBuilder.Entity<EventLogEntry>()
            .HasIndex(e => e.JobId)
            .HasDatabaseName("ix_event_log_parked_job_id")
            .HasFilter("parked_at IS NOT NULL");
    }
}

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without a running database.</summary>
public sealed class IndexingDbContextDesignTimeFactory : IDesignTimeDbContextFactory<IndexingDbContext>
{
    public IndexingDbContext CreateDbContext(string[] args) => IndexingDbContext.Open("Host=localhost;Database=vqapipeline_design");
}
