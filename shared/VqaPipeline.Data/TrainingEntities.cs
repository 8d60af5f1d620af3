using Microsoft.EntityFrameworkCore;

namespace VqaPipeline.Data;

/// <summary>
/// The human answers to one question about one image: what a catalog team says is right. A later label for the same
/// image and question replaces the earlier one; labels of a collection are a training dataset.
/// </summary>
public sealed class ImageLabel
{
    /// <summary>The label's id.</summary>
    public Guid Id { get; set; }

    /// <summary>The collection of the image.</summary>
    public Guid CollectionId { get; set; }

    /// <summary>The image the question is about.</summary>
    public Guid ImageId { get; set; }

    /// <summary>The question as written.</summary>
    public required string Question { get; set; }

    /// <summary>The human answers (one per annotator; one answer means everyone agrees).</summary>
    public required List<string> Answers { get; set; }

    /// <summary>When the label was last written.</summary>
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>Where a training run is.</summary>
public enum TrainingRunStatus
{
    /// <summary>Accepted, waiting for a training worker.</summary>
    Queued,

    /// <summary>A worker is training it.</summary>
    Running,

    /// <summary>Its model is stored; <see cref="TrainingRun.ModelReference"/> names it.</summary>
    Completed,

    /// <summary>It cannot finish; <see cref="TrainingRun.Error"/> says why.</summary>
    Failed,
}

/// <summary>One request to train a model, and how far it got.</summary>
public sealed class TrainingRun
{
    /// <summary>The run's id.</summary>
    public Guid Id { get; set; }

    /// <summary>The name the model is stored under.</summary>
    public required string ModelName { get; set; }

    /// <summary>The <c>TrainingRequested</c> message as JSON: everything needed to (re)start the run.</summary>
    public required string Request { get; set; }

    /// <summary>Where the run is.</summary>
    public TrainingRunStatus Status { get; set; } = TrainingRunStatus.Queued;

    /// <summary>Optimizer steps done.</summary>
    public int Step { get; set; }

    /// <summary>Optimizer steps in the whole run, once known.</summary>
    public int TotalSteps { get; set; }

    /// <summary>The loss of the last reported step.</summary>
    public double? Loss { get; set; }

    /// <summary>Training throughput at the last report.</summary>
    public double? ExamplesPerSecond { get; set; }

    /// <summary>The worker training it (host name and process id), while it runs.</summary>
    public string? Worker { get; set; }

    /// <summary>When the worker last reported: a running run whose worker went silent is taken over.</summary>
    public DateTimeOffset? HeartbeatAt { get; set; }

    /// <summary>The trained model (<c>models/{name}/{version}</c>), once completed.</summary>
    public string? ModelReference { get; set; }

    /// <summary>Why the run failed.</summary>
    public string? Error { get; set; }

    /// <summary>When it was requested.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When it last changed.</summary>
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>A model stored in object storage under <see cref="ObjectPrefix"/>, usable by question jobs.</summary>
public sealed class ModelVersion
{
    /// <summary>The row's id.</summary>
    public Guid Id { get; set; }

    /// <summary>The model's name.</summary>
    public required string Name { get; set; }

    /// <summary>1 for a name's first model, then 2, 3, …</summary>
    public int Version { get; set; }

    /// <summary>The storage prefix of the Hugging Face model folder (<c>models/{name}/{version}/</c>).</summary>
    public required string ObjectPrefix { get; set; }

    /// <summary>The training run that produced it, if any.</summary>
    public Guid? TrainingRunId { get; set; }

    /// <summary>How many examples it was trained on.</summary>
    public int TrainingExamples { get; set; }

    /// <summary>When it was stored.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>What a question job names to use it.</summary>
    public string Reference => $"models/{Name}/{Version}";
}

internal static class TrainingModel
{
    public static void ConfigureTraining(this ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<ImageLabel>(label =>
        {
            label.ToTable("labels");
            label.Property(l => l.Question).HasMaxLength(1000);
            label.HasIndex(l => new { l.ImageId, l.Question }).IsUnique();
            label.HasIndex(l => l.CollectionId);
            label.HasOne<Image>().WithMany().HasForeignKey(l => l.ImageId);
            label.HasOne<Collection>().WithMany().HasForeignKey(l => l.CollectionId);
        });

        modelBuilder.Entity<TrainingRun>(run =>
        {
            run.Property(r => r.ModelName).HasMaxLength(100);
            run.Property(r => r.Request).HasColumnType("jsonb");
            run.Property(r => r.Status)
                .HasMaxLength(16)
                .HasConversion(status => status.ToString().ToLowerInvariant(),
                               text => Enum.Parse<TrainingRunStatus>(text, ignoreCase: true));
            run.Property(r => r.Worker).HasMaxLength(255);
            run.Property(r => r.ModelReference).HasMaxLength(255);
            run.HasIndex(r => r.Status);
        });

        modelBuilder.Entity<ModelVersion>(model =>
        {
            model.Property(m => m.Name).HasMaxLength(100);
            model.Property(m => m.ObjectPrefix).HasMaxLength(1024);
            model.Ignore(m => m.Reference);
            model.HasIndex(m => new { m.Name, m.Version }).IsUnique();
            model.HasIndex(m => m.TrainingRunId).IsUnique();
        });
    }
}
