using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;
using VqaPipeline.Messaging;

namespace VqaPipeline.Inference.Data;

/// <summary>The inference service's schema: question jobs, their images and answers, and its view of the images.</summary>
public sealed class InferenceDbContext(DbContextOptions<InferenceDbContext> options) : MessagingDbContext(options)
{
    public override string Schema => Services.Inference;

    /// <summary>Question jobs.</summary>
    public DbSet<QuestionJob> QuestionJobs => Set<QuestionJob>();

    /// <summary>Each image's state within each job.</summary>
    public DbSet<JobImage> JobImages => Set<JobImage>();

    /// <summary>Stored answers of every job.</summary>
    public DbSet<JobAnswer> JobAnswers => Set<JobAnswer>();

    /// <summary>The images of every collection, as the messages told.</summary>
    public DbSet<CollectionImage> Images => Set<CollectionImage>();

    /// <summary>A context on <paramref name="connectionString"/>.</summary>
    public static InferenceDbContext Open(string connectionString) =>
        new(OptionsFor<InferenceDbContext>(connectionString, Services.Inference));

    protected override void ConfigureTables(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<QuestionJob>(job =>
        {
            job.Property(j => j.Questions).HasColumnType("text[]");
            job.Property(j => j.Model).HasMaxLength(1024);
            job.Property(j => j.ModelVersion).HasMaxLength(1024);
            job.Property(j => j.Status).HasMaxLength(16).HasConversion(LowerCaseEnum.Converter<JobStatus>());
            job.HasIndex(j => new { j.CollectionId, j.Status });
            job.HasIndex(j => new { j.TeamId, j.CreatedAt });
            // The jobs-in-flight quota counts a team's jobs by status.
            job.HasIndex(j => new { j.TeamId, j.Status });
        });

        modelBuilder.Entity<JobImage>(image =>
        {
            image.HasKey(i => new { i.JobId, i.ImageId });
            image.Property(i => i.State).HasMaxLength(16).HasConversion(LowerCaseEnum.Converter<JobImageState>());
            image.HasIndex(i => new { i.JobId, i.State });
            image.HasOne<QuestionJob>().WithMany().HasForeignKey(i => i.JobId);
        });

        modelBuilder.Entity<JobAnswer>(answer =>
        {
            answer.HasKey(a => new { a.JobId, a.ImageId, a.QuestionIndex, a.Rank });
            answer.Property(a => a.ModelVersion).HasMaxLength(1024);
            answer.HasOne<QuestionJob>().WithMany().HasForeignKey(a => a.JobId);
        });

        modelBuilder.Entity<CollectionImage>(image =>
        {
            image.ToTable("images");
            image.Property(i => i.FileName).HasMaxLength(1024);
            image.Property(i => i.ObjectKey).HasMaxLength(1024);
            image.Property(i => i.PreprocessedObjectKey).HasMaxLength(1024);
            image.Property(i => i.Status).HasMaxLength(16).HasConversion(LowerCaseEnum.Converter<CollectionImageStatus>());
            image.HasIndex(i => new { i.CollectionId, i.CreatedAt });
        });
    }
}

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without a running database.</summary>
public sealed class InferenceDbContextDesignTimeFactory : IDesignTimeDbContextFactory<InferenceDbContext>
{
    public InferenceDbContext CreateDbContext(string[] args) => InferenceDbContext.Open("Host=localhost;Database=vqapipeline_design");
}
