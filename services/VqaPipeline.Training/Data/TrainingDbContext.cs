using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;
using VqaPipeline.Messaging;

namespace VqaPipeline.Training.Data;

/// <summary>The training service's schema: training runs and the model versions they stored.</summary>
public sealed class TrainingDbContext(DbContextOptions<TrainingDbContext> options) : MessagingDbContext(options)
{
    public override string Schema => Services.Training;

    /// <summary>Requests to train a model.</summary>
    public DbSet<TrainingRun> TrainingRuns => Set<TrainingRun>();

    /// <summary>Trained models stored in object storage.</summary>
    public DbSet<ModelVersion> ModelVersions => Set<ModelVersion>();

    /// <summary>A context on <paramref name="connectionString"/>.</summary>
    public static TrainingDbContext Open(string connectionString) =>
        new(OptionsFor<TrainingDbContext>(connectionString, Services.Training));

    protected override void ConfigureTables(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<TrainingRun>(run =>
        {
            run.Property(r => r.ModelName).HasMaxLength(100);
            run.Property(r => r.Request).HasColumnType("jsonb");
            run.Property(r => r.DatasetPrefix).HasMaxLength(1024);
            run.Property(r => r.Status).HasMaxLength(16).HasConversion(LowerCaseEnum.Converter<TrainingRunStatus>());
            run.Property(r => r.Worker).HasMaxLength(255);
            run.Property(r => r.ModelReference).HasMaxLength(255);
            run.HasIndex(r => r.Status);
            // The training-runs quota counts a team's runs by status.
            run.HasIndex(r => new { r.TeamId, r.Status });
        });

        modelBuilder.Entity<ModelVersion>(model =>
        {
            model.Property(m => m.Name).HasMaxLength(100);
            model.Property(m => m.ObjectPrefix).HasMaxLength(1024);
            model.Ignore(m => m.Reference);
            // Version numbers are counted per team (each team's "shapes" has its own 1, 2, …).
            model.HasIndex(m => new { m.TeamId, m.Name, m.Version }).IsUnique();
            model.HasIndex(m => m.TrainingRunId).IsUnique();
        });
    }
}

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without a running database.</summary>
public sealed class TrainingDbContextDesignTimeFactory : IDesignTimeDbContextFactory<TrainingDbContext>
{
    public TrainingDbContext CreateDbContext(string[] args) => TrainingDbContext.Open("Host=localhost;Database=vqapipeline_design");
}
